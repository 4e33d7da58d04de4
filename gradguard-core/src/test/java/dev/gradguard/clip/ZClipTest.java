package dev.gradguard.clip;

import static dev.gradguard.clip.AdaptiveFixtures.applyToNorm;
import static dev.gradguard.clip.AdaptiveFixtures.gradValue;
import static dev.gradguard.clip.AdaptiveFixtures.gradientOf;
import static dev.gradguard.clip.AdaptiveFixtures.throughJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ZClipTest {

    @BeforeAll
    static void load() {
        Torch.load();
    }

    /** A ZClip whose warm-up is over, with the EMA at {@code mean} and {@code var}. */
    private static ZClip initialized(ZClip.Options options, double mean, double var) {
        ZClip z = new ZClip(options);
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("warmup_norms", List.of());
        state.put("initialized", true);
        state.put("mean", mean);
        state.put("var", var);
        state.put("max_grad_norm", options.maxGradNorm());
        z.loadStateDict(state);
        return z;
    }

    @Test
    void workedExampleSpikeIsClippedToTheCapAndTheEmaTakesTheUncappedThreshold() {
        ZClip z = initialized(ZClip.Options.defaults().withZThresh(2.0), 1.0, 0.25);
        Parameters ps = gradientOf(3.0);

        TransformReport r = GradientPipeline.of(z).apply(ps, 30, 1.0).transforms().get(0);

        // threshold 1.500001 is above max_grad_norm 1.0, so the gradients are clipped to 1.0
        assertTrue(r.clipped());
        assertEquals(1.0 / (3.0 + 1e-6), r.coefficient(), 0.0);
        assertEquals(3.0 / (3.0 + 1e-6), gradValue(ps), 1e-15);
        // the EMA update uses the uncapped threshold 1.500001, as the reference's worked example
        assertEquals(1.01500003, z.mean(), 5e-9);
        assertEquals(0.2495568, z.variance(), 5e-8);
        // the same numbers in closed form: mean = 0.97 + 0.03 * 1.500001, var = 0.2425 + 0.03 * 0.48500097^2
        assertEquals(0.97 + 0.03 * 1.500001, z.mean(), 1e-15);
        assertEquals(0.2425 + 0.03 * 0.48500097 * 0.48500097, z.variance(), 1e-15);
    }

    @Test
    void workedExampleThresholdIsAppliedWhenBelowTheCap() {
        ZClip z = initialized(ZClip.Options.defaults().withZThresh(2.0).withMaxGradNorm(10.0), 1.0, 0.25);
        Parameters ps = gradientOf(3.0);

        TransformReport r = GradientPipeline.of(z).apply(ps, 30, 1.0).transforms().get(0);

        // z = 2 / (0.5 + 1e-6) = 3.999992; threshold = 1 + 2 * 0.5 / (z / 2) = 1.500001
        double z0 = 2.0 / (0.5 + 1e-6);
        assertEquals(3.999992, z0, 5e-7);
        double threshold = r.coefficient() * (3.0 + 1e-6);
        assertEquals(1.500001, threshold, 1e-12);
        assertEquals(3.0 * 1.500001 / (3.0 + 1e-6), gradValue(ps), 1e-12);
        assertEquals(3.0 * r.coefficient(), r.normAfter(), 0.0);
        assertEquals(1.01500003, z.mean(), 5e-9);
        assertEquals(0.2495568, z.variance(), 5e-8);
    }

    @Test
    void meanOptionClipsASpikeToTheMeanAndFeedsTheMeanToTheEma() {
        ZClip z = initialized(ZClip.Options.defaults().withZThresh(2.0).withMaxGradNorm(10.0)
                .withClipOption(ZClip.ClipOption.MEAN), 1.0, 0.25);

        TransformReport r = applyToNorm(z, 30, 3.0);

        assertEquals(1.0 / (3.0 + 1e-6), r.coefficient(), 0.0);
        assertEquals(1.0, z.mean(), 1e-15);
        assertEquals(0.97 * 0.25, z.variance(), 1e-15);
    }

    @Test
    void clipFactorScalesTheAdaptiveThreshold() {
        ZClip z = initialized(ZClip.Options.defaults().withZThresh(2.0).withMaxGradNorm(10.0).withClipFactor(0.5),
                1.0, 0.25);
        TransformReport r = applyToNorm(z, 30, 3.0);
        assertEquals(0.5 * 1.500001, r.coefficient() * (3.0 + 1e-6), 1e-12);
        assertEquals(0.97 + 0.03 * 0.5 * 1.500001, z.mean(), 1e-15);
    }

    @Test
    void aNormalStepAboveTheCapIsClippedToTheCapAndTheEmaTakesTheNorm() {
        ZClip z = initialized(ZClip.Options.defaults(), 1.0, 0.25);
        TransformReport r = applyToNorm(z, 30, 1.2); // z = 0.4, no spike

        assertEquals(1.0 / (1.2 + 1e-6), r.coefficient(), 0.0);
        assertEquals(0.97 + 0.03 * 1.2, z.mean(), 1e-15);
    }

    @Test
    void aNormalStepBelowTheCapPassesUnchanged() {
        ZClip z = initialized(ZClip.Options.defaults(), 1.0, 0.25);
        Parameters ps = gradientOf(0.9);
        TransformReport r = GradientPipeline.of(z).apply(ps, 30, 1.0).transforms().get(0);
        assertFalse(r.clipped());
        assertEquals(0.9, gradValue(ps), 0.0);
        assertEquals(0.97 + 0.03 * 0.9, z.mean(), 1e-15);
    }

    @Test
    void warmUpClipsWithTheFixedCapAndRecordsThePreClipNorms() {
        ZClip z = new ZClip(ZClip.Options.defaults().withWarmupSteps(3));

        assertFalse(applyToNorm(z, 0, 0.5).clipped());
        assertFalse(z.initialized());
        Parameters ps = gradientOf(2.0);
        TransformReport r = GradientPipeline.of(z).apply(ps, 1, 1.0).transforms().get(0);
        assertTrue(r.clipped());
        assertEquals(1.0 / (2.0 + 1e-6), r.coefficient(), 0.0);
        assertEquals(2.0 / (2.0 + 1e-6), gradValue(ps), 1e-15);
        assertFalse(z.initialized());
        assertEquals(List.of(0.5, 2.0), z.stateDict().get("warmup_norms"));

        applyToNorm(z, 2, 0.8);

        assertTrue(z.initialized());
        // mean and population variance of the pre-clip norms 0.5, 2.0, 0.8
        assertEquals(1.1, z.mean(), 1e-15);
        assertEquals((0.6 * 0.6 + 0.9 * 0.9 + 0.3 * 0.3) / 3, z.variance(), 1e-15);
        assertEquals(List.of(), z.stateDict().get("warmup_norms"));
    }

    @Test
    void aNonFiniteNormChangesNeitherGradientsNorStatistics() {
        ZClip z = initialized(ZClip.Options.defaults(), 1.0, 0.25);
        Map<String, Object> before = z.stateDict();
        TransformReport r = applyToNorm(z, 30, Double.POSITIVE_INFINITY);
        assertFalse(r.clipped());
        assertEquals(before, z.stateDict());
    }

    @Test
    void stateRoundTripsThroughJsonAndGivesIdenticalLaterBehaviour() {
        double[] norms = {0.4, 0.6, 0.5, 0.55, 0.52, 3.0, 0.5, 0.49, 7.0, 0.6, 0.5, 0.45};
        ZClip.Options options = ZClip.Options.defaults().withWarmupSteps(4).withMaxGradNorm(2.0);
        ZClip original = new ZClip(options);
        for (int i = 0; i < 3; i++) {
            applyToNorm(original, i, norms[i]);
        }
        original.setThreshold(1.5);
        ZClip restored = new ZClip(options);
        restored.loadStateDict(throughJson(original.stateDict()));
        assertEquals(1.5, restored.threshold());
        for (int i = 3; i < norms.length; i++) {
            TransformReport a = applyToNorm(original, i, norms[i]);
            TransformReport b = applyToNorm(restored, i, norms[i]);
            assertEquals(a, b, "step " + i);
            assertEquals(original.mean(), restored.mean(), 0.0);
            assertEquals(original.variance(), restored.variance(), 0.0);
        }
        assertTrue(original.initialized());
        // a fresh ZClip's NaN statistics travel as strings
        assertEquals("NaN", throughJson(new ZClip().stateDict()).get("mean"));
    }

    @Test
    void theThresholdIsTheCapAndTheConfigurationKeepsTheConfiguredOne() {
        ZClip z = new ZClip(ZClip.Options.defaults().withMaxGradNorm(2.0).withWarmupSteps(2));
        assertEquals(2.0, z.threshold());
        z.setThreshold(0.5);
        assertEquals(2.0, z.config().get("maxGradNorm"));
        assertEquals(2, z.config().get("warmupSteps"));
        assertEquals(0.5 / (1.0 + 1e-6), applyToNorm(z, 0, 1.0).coefficient(), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> z.setThreshold(-1));
    }
}
