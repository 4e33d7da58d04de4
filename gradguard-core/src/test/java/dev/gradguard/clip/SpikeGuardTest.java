package dev.gradguard.clip;

import static dev.gradguard.clip.AdaptiveFixtures.applyToNorm;
import static dev.gradguard.clip.AdaptiveFixtures.gradValue;
import static dev.gradguard.clip.AdaptiveFixtures.gradientOf;
import static dev.gradguard.clip.AdaptiveFixtures.throughJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SpikeGuardTest {

    @BeforeAll
    static void load() {
        Torch.load();
    }

    /** The steps (indices into {@code norms}) the guard asks to skip. */
    private static List<Integer> skippedSteps(GradientTransform guard, double... norms) {
        List<Integer> skipped = new ArrayList<>();
        for (int i = 0; i < norms.length; i++) {
            if (applyToNorm(guard, i, norms[i]).skipReason().isPresent()) {
                skipped.add(i);
            }
        }
        return skipped;
    }

    @Test
    void skipsAValueMoreThanKStdsAboveTheRollingMeanAndKeepsItOutOfTheWindow() {
        SpikeGuard guard = new SpikeGuard(SpikeGuard.Signal.GRAD_NORM, 2, 4, 4);
        for (double norm : new double[] {1.0, 1.2, 0.8, 1.0}) {
            assertTrue(applyToNorm(guard, 0, norm).skipReason().isEmpty());
        }
        Parameters ps = gradientOf(5.0);

        TransformReport r = GradientPipeline.of(guard).apply(ps, 4, 1.0).transforms().get(0);

        // the sample std of [1.0, 1.2, 0.8, 1.0] is sqrt(0.08 / 3) = 0.163299
        assertEquals(Optional.of("grad norm 5.00000 is more than k = 2.0 standard deviations above its rolling mean "
                + "(mean 1.00000, std 0.163299, over the last 4 values)"), r.skipReason());
        assertFalse(r.clipped());
        assertEquals(5.0, gradValue(ps), 0.0);
        assertEquals(List.of(1.0, 1.2, 0.8, 1.0), guard.stateDict().get("window"));

        assertTrue(applyToNorm(guard, 5, 1.1).skipReason().isEmpty());
        assertEquals(List.of(1.2, 0.8, 1.0, 1.1), guard.stateDict().get("window"));
    }

    @Test
    void nothingIsSkippedBeforeTheWindowHoldsMinSamples() {
        SpikeGuard guard = new SpikeGuard(SpikeGuard.Signal.GRAD_NORM, 3, 8, 4);
        // steps 0-3 fill the minimum; the 100 at step 2 enters the window, widening its std
        assertEquals(List.of(6), skippedSteps(guard, 1, 1.1, 100, 0.9, 1, 150, 400, 1));
    }

    @Test
    void aScriptedSequenceSkipsExactlyItsSpikes() {
        SpikeGuard guard = new SpikeGuard(SpikeGuard.Signal.GRAD_NORM, 3, 5, 3);
        double[] norms = {1.0, 1.1, 0.9, 1.05, 5.0, 0.95, 1.0, 1.2, 6.0, 7.0, 1.1, 1.3};
        assertEquals(List.of(4, 8, 9), skippedSteps(guard, norms));
    }

    @Test
    void theLossVariantJudgesTheLoss() {
        SpikeGuard guard = new SpikeGuard(SpikeGuard.Signal.LOSS, 2, 3, 3);
        double[] losses = {2.0, 2.1, 1.9, 9.0, 2.0};
        List<Integer> skipped = new ArrayList<>();
        for (int i = 0; i < losses.length; i++) {
            TransformReport r = applyToNorm(guard, i, 50.0 * (i + 1), losses[i]);
            r.skipReason().ifPresent(reason -> assertTrue(reason.startsWith("loss 9.00000 is more than k = 2.0"), reason));
            if (r.skipReason().isPresent()) {
                skipped.add(i);
            }
        }
        assertEquals(List.of(3), skipped);
    }

    @Test
    void nonFiniteValuesNeitherSkipNorEnterTheWindow() {
        SpikeGuard guard = new SpikeGuard(SpikeGuard.Signal.GRAD_NORM, 2, 3, 2);
        assertEquals(List.of(), skippedSteps(guard, 1, Double.NaN, 1.1, Double.POSITIVE_INFINITY));
        assertEquals(List.of(1.0, 1.1), guard.stateDict().get("window"));
    }

    @Test
    void theAbsoluteGuardSkipsNormsAboveItsThreshold() {
        AbsoluteSpikeGuard guard = new AbsoluteSpikeGuard(10);
        assertEquals(List.of(2), skippedSteps(guard, 9.9, 10, 10.5, 1));
        assertEquals(Optional.of("grad norm 10.5000 exceeds the skip threshold 10.0"),
                applyToNorm(guard, 0, 10.5).skipReason());
    }

    @Test
    void aPipelineCarriesTheSkipRequest() {
        GradientPipeline p = Clip.chain(Clip.spikeAbs(2.0), Clip.norm(1.0));
        PipelineReport r = p.apply(gradientOf(3.0), 0, 1.0);
        assertEquals(Optional.of("grad norm 3.00000 exceeds the skip threshold 2.0"), r.skipReason());
    }

    @Test
    void stateRoundTripsThroughJsonAndGivesIdenticalLaterBehaviour() {
        double[] norms = {1, 1.1, 0.9, 1.05, 1.0, 0.98, 4.0, 1.02, 1.01, 3.0, 1.0, 0.97};
        SpikeGuard original = new SpikeGuard(SpikeGuard.Signal.GRAD_NORM, 3, 6, 3);
        for (int i = 0; i < 5; i++) {
            applyToNorm(original, i, norms[i]);
        }
        SpikeGuard restored = new SpikeGuard(SpikeGuard.Signal.GRAD_NORM, 3, 6, 3);
        restored.loadStateDict(throughJson(original.stateDict()));
        int skips = 0;
        for (int i = 5; i < norms.length; i++) {
            TransformReport a = applyToNorm(original, i, norms[i]);
            assertEquals(a, applyToNorm(restored, i, norms[i]), "step " + i);
            skips += a.skipReason().isPresent() ? 1 : 0;
        }
        assertEquals(2, skips);
    }
    /**
     * A worked sequence through each documented difference from OLMo-core's {@code get_step_factor}
     * (window 4, k 2, 2 earlier values before judging). OLMo-core on the same norms would skip step 3 too,
     * keep 50 in its window (mean of [1.0, 1.1, 0.9, 50] = 13.25, so 1.3 at step 6 would pass), and skip
     * steps 5 to 9 after the NaN at step 4 (NaN in its window); here:
     */
    @Test
    void workedSequenceKeepsSkippedAndNonFiniteValuesOutOfTheWindow() {
        SpikeGuard guard = new SpikeGuard(SpikeGuard.Signal.GRAD_NORM, 2, 4, 2);
        double[] norms = {1.0, 1.1, 0.9, 50, Double.NaN, 1.0, 1.3, 1.05, 0.95, 1.0};
        // step 1: one earlier value, not judged. Step 2: [1.0, 1.1], mean 1.05, std 0.0707; 0.9 passes.
        // step 3: [1.0, 1.1, 0.9], mean 1.0, std 0.1; 50 - 1.0 > 0.2, skipped and kept out.
        // step 4: NaN, not judged and kept out. Step 5: 1.0 passes; window [1.0, 1.1, 0.9, 1.0].
        // step 6: mean 1.0, std sqrt(0.02 / 3) = 0.0816; 1.3 - 1.0 = 0.3 > 0.163, skipped.
        assertEquals(List.of(3, 6), skippedSteps(guard, norms));
        assertEquals(List.of(1.0, 1.05, 0.95, 1.0), guard.stateDict().get("window"));
    }
}
