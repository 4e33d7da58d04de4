package dev.gradguard.guard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class DivergenceStopTest {

    /** The first step at which {@code stop} asks to stop over {@code losses}, or -1. */
    private static int stopStep(DivergenceStop stop, double... losses) {
        for (int i = 0; i < losses.length; i++) {
            if (stop.observe(i, losses[i]).isPresent()) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void aLossThatStaysAboveTheLevelStopsAtTheLastOfTheStepsInARow() {
        // first loss 2: the level is 20; steps 1-3 are above it, the third of them stops
        assertEquals(3, stopStep(DivergenceStop.of(10, 3), 2, 25, 30, 1e6, 40));
    }

    @Test
    void aStepBelowTheLevelTakesOneStepAboveItBack() {
        // level 20: counts 1, 2, then 19 takes one back (1), then 2, 3: stop at step 5
        assertEquals(5, stopStep(DivergenceStop.of(10, 3), 2, 21, 21, 19, 21, 21, 21));
        // counts 1, 2, 1, 0, 1, 2, 1, 0: a loss equal to the level is not above it
        assertEquals(-1, stopStep(DivergenceStop.of(10, 3), 2, 21, 21, 20, 20, 21, 21, 20, 20));
    }

    @Test
    void aLossSwingingAroundTheLevelButMostlyAboveItStopsWhereStepsInARowNeverWould() {
        // three steps above, one below, over and over: never 5 in a row, but the count climbs by 2 every 4 steps
        double[] losses = new double[41];
        losses[0] = 1;
        for (int i = 1; i < losses.length; i++) {
            losses[i] = i % 4 == 0 ? 2 : 50;
        }
        // counts at steps 1-3: 1, 2, 3; step 4: 2; steps 5-7: 3, 4, 5
        assertEquals(7, stopStep(DivergenceStop.of(10, 5), losses));
    }

    @Test
    void aNoisyLossAsOftenBelowTheLevelAsAboveItNeverStops() {
        double[] losses = new double[10_001];
        losses[0] = 1;
        for (int i = 1; i < losses.length; i++) {
            losses[i] = i % 2 == 0 ? 9 : 1e6;
        }
        assertEquals(-1, stopStep(DivergenceStop.of(10, 2), losses));
    }

    @Test
    void aLossFallingTowardsZeroAndSpikingBackToItsStartIsNoDivergence() {
        // relative to the best loss (1e-6) the spikes are a million-fold; relative to the start they are not
        assertEquals(-1, stopStep(DivergenceStop.of(10, 2), 1.4, 0.1, 1e-6, 1.5, 2.0, 1e-6, 1.9, 13.0));
    }

    @Test
    void nonFiniteLossesNeitherCountNorBreakTheRun() {
        assertEquals(4, stopStep(DivergenceStop.of(10, 3), 1, 11, Double.NaN, 11, 11));
        assertEquals(4, stopStep(DivergenceStop.of(10, 3), Double.NaN, 1, 11, 11, 11),
                "the level is set by the first finite loss");
    }

    @Test
    void theReasonSaysDivergedWithTheLevelTheCountAndTheStep() {
        DivergenceStop stop = DivergenceStop.of(10, 2);
        stop.observe(0, 1.5);
        stop.observe(1, 16);
        Optional<String> reason = stop.observe(2, 300);
        assertEquals("diverged: the loss stayed above 10 times the first step's (1.500), on 2 more steps than it was"
                + " below (300.0 at step 2); stopping. Lower the learning rate or clip harder", reason.orElseThrow());
    }

    @Test
    void offNeverStops() {
        DivergenceStop off = DivergenceStop.off();
        assertFalse(off.enabled());
        double[] losses = new double[10_000];
        java.util.Arrays.fill(losses, 1e30);
        losses[0] = 1;
        assertEquals(-1, stopStep(off, losses));
    }

    @Test
    void aRestoredStopKeepsItsLevelAndCount() {
        DivergenceStop before = DivergenceStop.of(10, 3);
        stopStep(before, 2, 25, 25);
        DivergenceStop after = DivergenceStop.of(10, 3);
        after.loadStateDict(before.stateDict());
        assertTrue(after.observe(3, 21).isPresent(), "first loss 2 and two steps above 20 were restored");
        DivergenceStop fresh = DivergenceStop.of(10, 3);
        assertTrue(fresh.observe(0, 21).isEmpty());
    }

    @Test
    void anEarlierVersionsCountOfStepsInARowIsRestoredAsTheCount() {
        DivergenceStop restored = DivergenceStop.of(10, 3);
        restored.loadStateDict(new java.util.LinkedHashMap<>(java.util.Map.of("first_loss", 2.0, "consecutive", 2)));
        assertTrue(restored.observe(3, 21).isPresent(), "two saved steps above 20, and this third one, stop");
    }

    @Test
    void outOfRangeSettingsAreRefusedNamingTheValue() {
        assertEquals("divergence factor must be a finite number > 1, got 1.0",
                assertThrows(IllegalArgumentException.class, () -> DivergenceStop.of(1, 5)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> DivergenceStop.of(Double.POSITIVE_INFINITY, 5));
        assertThrows(IllegalArgumentException.class, () -> DivergenceStop.of(Double.NaN, 5));
        assertEquals("divergence steps must be at least 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> DivergenceStop.of(10, 0)).getMessage());
    }
}
