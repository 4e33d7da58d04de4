package dev.gradguard.guard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.clip.PipelineReport;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class NonFiniteGuardTest {

    private static PipelineReport norms(double pre, double post) {
        return new PipelineReport(pre, post, post < pre, Optional.empty(), List.of());
    }

    @Test
    void finiteStepsAreApplied() {
        NonFiniteGuard g = new NonFiniteGuard(3);
        GuardDecision d = g.decide(0, 0.5, norms(2.0, 1.0));
        assertTrue(d.applyUpdate());
        assertFalse(d.nonFinite());
        assertTrue(d.skipReason().isEmpty());
        assertEquals(0, g.skippedSteps());
    }

    @Test
    void eachKindOfNonFiniteValueSkipsAndSaysWhich() {
        NonFiniteGuard g = new NonFiniteGuard(100);
        assertEquals("loss is NaN", g.decide(0, Double.NaN, norms(1, 1)).skipReason().orElseThrow());
        assertEquals("gradient norm is Infinity", g.decide(1, 0.1, norms(Double.POSITIVE_INFINITY, 0)).skipReason().orElseThrow());
        assertEquals("clipped gradient norm is NaN", g.decide(2, 0.1, norms(3, Double.NaN)).skipReason().orElseThrow());
        assertEquals(3, g.skippedSteps());
        assertEquals(3, g.nonFiniteSteps());
        assertEquals(3, g.consecutiveNonFinite());
    }

    @Test
    void aFiniteStepResetsTheConsecutiveCountButNotTheTotals() {
        NonFiniteGuard g = new NonFiniteGuard(3);
        g.decide(0, Double.NaN, norms(1, 1));
        g.decide(1, Double.NaN, norms(1, 1));
        g.decide(2, 0.3, norms(1, 1));
        assertEquals(0, g.consecutiveNonFinite());
        assertTrue(g.decide(3, Double.NaN, norms(1, 1)).stopReason().isEmpty());
        assertEquals(3, g.skippedSteps());
    }

    @Test
    void theNthConsecutiveNonFiniteStepStopsTheRun() {
        NonFiniteGuard g = new NonFiniteGuard(3);
        assertTrue(g.decide(10, Double.NaN, norms(1, 1)).stopReason().isEmpty());
        assertTrue(g.decide(11, Double.NaN, norms(1, 1)).stopReason().isEmpty());
        GuardDecision third = g.decide(12, 0.2, norms(Double.NaN, Double.NaN));
        assertFalse(third.applyUpdate());
        String reason = third.stopReason().orElseThrow();
        assertTrue(reason.startsWith("3 consecutive steps had non-finite loss or gradients (last at step 12: gradient norm is NaN)"), reason);
    }

    @Test
    void aTransformsSkipRequestSkipsWithoutCountingAsNonFinite() {
        NonFiniteGuard g = new NonFiniteGuard(3);
        PipelineReport spike = new PipelineReport(50, 50, false, Optional.of("grad norm 50 is a spike"), List.of());
        GuardDecision d = g.decide(0, 0.1, spike);
        assertFalse(d.applyUpdate());
        assertFalse(d.nonFinite());
        assertEquals("grad norm 50 is a spike", d.skipReason().orElseThrow());
        assertEquals(1, g.skippedSteps());
        assertEquals(0, g.nonFiniteSteps());
    }

    @Test
    void anFp16OverflowSkipsWithoutCountingTowardTheStop() {
        NonFiniteGuard g = new NonFiniteGuard(2);
        g.decide(0, Double.NaN, norms(1, 1));
        GuardDecision overflow = null;
        for (int step = 1; step <= 5; step++) {
            overflow = g.decide(step, 0.7, norms(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY),
                    java.util.OptionalDouble.of(32768.0));
            assertTrue(overflow.stopReason().isEmpty(), "step " + step);
        }
        assertFalse(overflow.applyUpdate());
        assertTrue(overflow.lossScaleOverflow());
        assertFalse(overflow.nonFinite());
        assertEquals("fp16 gradient overflow: loss scale lowered to 32768", overflow.skipReason().orElseThrow());
        assertEquals(6, g.skippedSteps());
        assertEquals(1, g.nonFiniteSteps());
        assertEquals(1, g.consecutiveNonFinite(), "overflows neither extend nor break a run of non-finite steps");

        GuardDecision lossNaN = g.decide(6, Double.NaN, norms(Double.NaN, Double.NaN), java.util.OptionalDouble.of(0.5));
        assertTrue(lossNaN.nonFinite(), "a non-finite loss is not a scaling artefact");
        assertFalse(lossNaN.lossScaleOverflow());
        assertTrue(lossNaN.stopReason().isPresent(), "the second non-finite step in a row stops the run");
    }

    @Test
    void stateRoundTripsAndRejectsGarbage() {
        NonFiniteGuard g = new NonFiniteGuard(5);
        g.decide(0, Double.NaN, norms(1, 1));
        g.decide(1, Double.NaN, norms(1, 1));
        NonFiniteGuard h = new NonFiniteGuard(5);
        h.loadStateDict(g.stateDict());
        assertEquals(g.stateDict(), h.stateDict());
        assertEquals(2, h.consecutiveNonFinite());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> h.loadStateDict(java.util.Map.of("skipped_steps", 1)));
        assertTrue(e.getMessage().contains("nonfinite_steps"), e.getMessage());
    }

    @Test
    void rejectsANonPositiveLimit() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new NonFiniteGuard(0));
        assertEquals("max consecutive non-finite steps must be at least 1, got 0", e.getMessage());
    }
}
