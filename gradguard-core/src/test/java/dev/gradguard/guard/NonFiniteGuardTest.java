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
        assertTrue(d.skip().isEmpty());
        assertEquals(0, g.skippedSteps());
    }

    @Test
    void eachKindOfNonFiniteValueSkipsAndSaysWhich() {
        NonFiniteGuard g = new NonFiniteGuard(100);
        assertEquals(new Skip(SkipReason.NON_FINITE_LOSS, "loss is NaN"), g.decide(0, Double.NaN, norms(1, 1)).skip().orElseThrow());
        assertEquals(new Skip(SkipReason.NON_FINITE_GRADIENT, "gradient norm is Infinity"),
                g.decide(1, 0.1, norms(Double.POSITIVE_INFINITY, 0)).skip().orElseThrow());
        assertEquals(new Skip(SkipReason.NON_FINITE_GRADIENT, "clipped gradient norm is NaN"),
                g.decide(2, 0.1, norms(3, Double.NaN)).skip().orElseThrow());
        assertEquals(new Skip(SkipReason.UPDATE, "the update made parameter w non-finite"),
                g.afterUpdate(3, Optional.of("the update made parameter w non-finite")).skip().orElseThrow());
        assertEquals(4, g.skippedSteps());
        assertEquals(4, g.nonFiniteSteps());
        assertEquals(4, g.consecutiveNonFinite());
    }

    @Test
    void anAppliedUpdateEndsARunOfNonFiniteStepsAndADecisionAloneDoesNot() {
        NonFiniteGuard g = new NonFiniteGuard(3);
        g.decide(0, Double.NaN, norms(1, 1));
        assertTrue(g.decide(1, 0.3, norms(1, 1)).applyUpdate());
        assertEquals(1, g.consecutiveNonFinite(), "the update may still turn out non-finite");
        assertTrue(g.afterUpdate(1, Optional.empty()).applyUpdate());
        assertEquals(0, g.consecutiveNonFinite());
    }

    @Test
    void rejectedUpdatesCountTowardTheStop() {
        NonFiniteGuard g = new NonFiniteGuard(2);
        g.decide(0, 0.3, norms(1, 1));
        assertTrue(g.afterUpdate(0, Optional.of("lr overflow")).stopReason().isEmpty());
        g.decide(1, 0.3, norms(1, 1));
        GuardDecision second = g.afterUpdate(1, Optional.of("lr overflow"));
        assertEquals(SkipReason.UPDATE, second.skip().orElseThrow().reason());
        assertTrue(second.stopReason().orElseThrow().startsWith("2 consecutive steps had a non-finite loss, gradient or "
                + "update (last at step 1: lr overflow)"), second.stopReason().get());
    }

    @Test
    void aPeerSkipIsCountedAsSkippedButNotAsNonFinite() {
        NonFiniteGuard g = new NonFiniteGuard(3);
        g.decide(0, Double.NaN, norms(1, 1));
        GuardDecision peer = g.peerSkipped();
        assertEquals(SkipReason.PEER_SKIPPED, peer.skip().orElseThrow().reason());
        assertFalse(peer.nonFinite());
        assertEquals(2, g.skippedSteps());
        assertEquals(1, g.nonFiniteSteps());
        assertEquals(1, g.consecutiveNonFinite());
    }

    @Test
    void skipReasonCodesAreStableAndOnlyLossGradientAndUpdateAreNonFinite() {
        assertEquals(List.of("nonfinite_loss", "nonfinite_gradient", "update", "fp16_overflow", "spike", "peer_skipped"),
                java.util.Arrays.stream(SkipReason.values()).map(SkipReason::code).toList());
        assertEquals(List.of(SkipReason.NON_FINITE_LOSS, SkipReason.NON_FINITE_GRADIENT, SkipReason.UPDATE),
                java.util.Arrays.stream(SkipReason.values()).filter(SkipReason::nonFinite).toList());
    }

    @Test
    void aFiniteStepResetsTheConsecutiveCountButNotTheTotals() {
        NonFiniteGuard g = new NonFiniteGuard(3);
        g.decide(0, Double.NaN, norms(1, 1));
        g.decide(1, Double.NaN, norms(1, 1));
        g.decide(2, 0.3, norms(1, 1));
        g.afterUpdate(2, Optional.empty());
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
        assertTrue(reason.startsWith("3 consecutive steps had a non-finite loss, gradient or update (last at step 12: gradient norm is NaN)"), reason);
    }

    @Test
    void aTransformsSkipRequestSkipsWithoutCountingAsNonFinite() {
        NonFiniteGuard g = new NonFiniteGuard(3);
        PipelineReport spike = new PipelineReport(50, 50, false, Optional.of("grad norm 50 is a spike"), List.of());
        GuardDecision d = g.decide(0, 0.1, spike);
        assertFalse(d.applyUpdate());
        assertFalse(d.nonFinite());
        assertEquals("grad norm 50 is a spike", d.skip().orElseThrow().detail());
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
        assertEquals(SkipReason.FP16_OVERFLOW, overflow.skip().orElseThrow().reason());
        assertFalse(overflow.nonFinite());
        assertEquals("fp16 gradient overflow: loss scale lowered to 32768", overflow.skip().orElseThrow().detail());
        assertEquals(6, g.skippedSteps());
        assertEquals(1, g.nonFiniteSteps());
        assertEquals(1, g.consecutiveNonFinite(), "overflows neither extend nor break a run of non-finite steps");

        GuardDecision lossNaN = g.decide(6, Double.NaN, norms(Double.NaN, Double.NaN), java.util.OptionalDouble.of(0.5));
        assertTrue(lossNaN.nonFinite(), "a non-finite loss is not a scaling artefact");
        assertEquals(SkipReason.NON_FINITE_LOSS, lossNaN.skip().orElseThrow().reason());
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
