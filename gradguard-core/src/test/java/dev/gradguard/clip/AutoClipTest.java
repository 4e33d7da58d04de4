package dev.gradguard.clip;

import static dev.gradguard.clip.AdaptiveFixtures.applyToNorm;
import static dev.gradguard.clip.AdaptiveFixtures.contextFor;
import static dev.gradguard.clip.AdaptiveFixtures.gradValue;
import static dev.gradguard.clip.AdaptiveFixtures.gradientOf;
import static dev.gradguard.clip.AdaptiveFixtures.throughJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AutoClipTest {

    @BeforeAll
    static void load() {
        Torch.load();
    }

    @Test
    void percentileMatchesNumpysLinearInterpolation() {
        double[] h = {1, 2, 3, 4, 100};
        // numpy.percentile([1, 2, 3, 4, 100], [10, 50, 90, 0, 100]) = [1.4, 3.0, 61.6, 1.0, 100.0]
        assertEquals(1.4, AutoClip.percentile(h, 5, 10), 1e-15);
        assertEquals(3.0, AutoClip.percentile(h, 5, 50), 0.0);
        assertEquals(61.6, AutoClip.percentile(h, 5, 90), 1e-13);
        assertEquals(1.0, AutoClip.percentile(h, 5, 0), 0.0);
        assertEquals(100.0, AutoClip.percentile(h, 5, 100), 0.0);
        assertEquals(2.5, AutoClip.percentile(new double[] {1, 2, 3, 4}, 4, 50), 0.0);
        assertEquals(7.0, AutoClip.percentile(new double[] {7}, 1, 10), 0.0);
    }

    @Test
    void workedExampleClipsToTheTenthPercentileOfTheHistoryIncludingTheCurrentNorm() {
        AutoClip clip = new AutoClip(10);
        for (double norm : new double[] {1, 2, 3, 4}) {
            applyToNorm(clip, 0, norm);
        }
        Parameters ps = gradientOf(100);

        TransformReport r = GradientPipeline.of(clip).apply(ps, 4, 1.0).transforms().get(0);

        assertEquals(List.of(1.0, 2.0, 3.0, 4.0, 100.0), clip.history());
        assertTrue(r.clipped());
        assertEquals(1.4 / (100 + 1e-6), r.coefficient(), 1e-15);
        assertEquals(1.4, r.normAfter(), 1e-7);
        assertEquals(100 * 1.4 / (100 + 1e-6), gradValue(ps), 1e-12);
    }

    @Test
    void aNormBelowThePercentilePassesUnchanged() {
        AutoClip clip = new AutoClip(50);
        applyToNorm(clip, 0, 10);
        Parameters ps = gradientOf(1);
        TransformReport r = clip.apply(ps, contextFor(ps, 1, 1.0));
        assertFalse(r.clipped()); // threshold = median of [10, 1] = 5.5
        assertEquals(1.0, gradValue(ps), 0.0);
    }

    @Test
    void aWindowKeepsOnlyTheLastNorms() {
        AutoClip clip = new AutoClip(50, 3);
        for (double norm : new double[] {1, 2, 3}) {
            applyToNorm(clip, 0, norm);
        }
        TransformReport r = applyToNorm(clip, 3, 100);
        assertEquals(List.of(2.0, 3.0, 100.0), clip.history());
        assertEquals(3.0 / (100 + 1e-6), r.coefficient(), 1e-15);
    }

    @Test
    void nonFiniteNormsStayOutOfTheHistoryAndTheGradientsAreLeftAlone() {
        AutoClip clip = new AutoClip(10);
        applyToNorm(clip, 0, 1);
        Parameters ps = gradientOf(Double.NaN);
        TransformReport r = clip.apply(ps, contextFor(ps, 1, 1.0));
        assertFalse(r.clipped());
        assertTrue(Double.isNaN(gradValue(ps)));
        applyToNorm(clip, 2, Double.POSITIVE_INFINITY);
        applyToNorm(clip, 3, 2);
        assertEquals(List.of(1.0, 2.0), clip.history());
    }

    @Test
    void stateRoundTripsThroughJsonAndGivesIdenticalLaterBehaviour() {
        double[] norms = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9};
        AutoClip original = new AutoClip(25, 6);
        for (int i = 0; i < 8; i++) {
            applyToNorm(original, i, norms[i]);
        }
        AutoClip restored = new AutoClip(25, 6);
        restored.loadStateDict(throughJson(original.stateDict()));
        assertEquals(original.history(), restored.history());
        for (int i = 8; i < norms.length; i++) {
            assertEquals(applyToNorm(original, i, norms[i]), applyToNorm(restored, i, norms[i]), "step " + i);
        }
        AutoClip tooSmall = new AutoClip(25, 2);
        assertThrows(IllegalArgumentException.class, () -> tooSmall.loadStateDict(original.stateDict()));
    }
}
