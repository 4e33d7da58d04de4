package dev.gradguard.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Each schedule's learning rates against its formula, worked out as explicit numbers. */
class SchedulesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void constantKeepsTheBaseRate() {
        assertArrayEquals(new double[] {0.1, 0.1, 0.1, 0.1}, lrs(Schedules.constant(0.1), 4));
    }

    @Test
    void warmupRampsLinearlyFromLrOverN() {
        // 0.2 * min(1, (k + 1) / 4)
        assertArrayEquals(new double[] {0.05, 0.1, 0.15000000000000002, 0.2, 0.2, 0.2},
                lrs(Schedules.warmup(0.2, 4), 6));
    }

    @Test
    void cosineAnnealsToZeroOverTheRunAndStaysThere() {
        // (1 + cos(pi * k / 4)) / 2 for k = 0..4, then 0
        assertArrayEquals(new double[] {1.0, 0.8535533905932737, 0.5, 0.14644660940672624, 0.0, 0.0},
                lrs(Schedules.cosine(1.0, 4, 0), 6), 1e-15);
    }

    @Test
    void cosineWithWarmupRampsThenAnnealsOverTheRemainingSteps() {
        // k < 2: (k + 1) / 2; then (1 + cos(pi * (k - 2) / 4)) / 2 over total 6
        assertArrayEquals(new double[] {0.5, 1.0, 1.0, 0.8535533905932737, 0.5, 0.14644660940672624,
            0.0}, lrs(Schedules.cosine(1.0, 6, 2), 7), 1e-15);
    }

    @Test
    void stepDecaysByGammaEverySizeUpdates() {
        // 0.8 * 0.5^floor(k / 2)
        assertArrayEquals(new double[] {0.8, 0.8, 0.4, 0.4, 0.2, 0.2, 0.1},
                lrs(Schedules.stepDecay(0.8, 2, 0.5), 7));
    }

    @Test
    void plateauFeedsTheMeanLossOfEachInterval() {
        // intervals of 2 updates: means 3 (best), 3 (bad 1), 3 (bad 2 > patience 1: lr 1.0 -> 0.5)
        LrSchedule s = Schedules.plateau(1.0, 1, 0.5, 2);
        double[] losses = {4, 2, 3, 3, 5, 1, 9, 9};
        double[] lrAfter = new double[losses.length];
        for (int i = 0; i < losses.length; i++) {
            s.afterUpdate(losses[i]);
            lrAfter[i] = s.lr();
        }
        assertArrayEquals(new double[] {1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5}, lrAfter);
    }

    @Test
    void plateauDefaultsArePyTorchsAndOneMetricPerHundredUpdates() {
        LrSchedule s = Schedules.plateau(1.0);
        // 100 updates make one epoch: the first mean is the best, the next 11 are bad (11 > patience 10)
        for (int epoch = 0; epoch < 12; epoch++) {
            assertEquals(1.0, s.lr());
            for (int k = 0; k < 100; k++) {
                s.afterUpdate(1.0);
            }
        }
        assertEquals(0.1, s.lr());
    }

    @Test
    void restoredScheduleContinuesExactly() throws Exception {
        // plateau(1, 0.5, 3) sees means 4.5, 4.46, 4.8, 5.1, 5.4, 5.7: reductions after updates 12 and 18
        double[] losses = {5, 4, 4.5, 4.4, 4.6, 4.39, 4.7, 4.8, 4.9, 5.0, 5.1, 5.2, 5.3, 5.4, 5.5, 5.6, 5.7, 5.8};
        List<Supplier<LrSchedule>> schedules = List.of(() -> Schedules.constant(0.1), () -> Schedules.warmup(0.1, 5),
                () -> Schedules.cosine(0.1, 20, 3), () -> Schedules.stepDecay(0.1, 4, 0.3),
                () -> Schedules.plateau(0.1, 1, 0.5, 3));
        for (Supplier<LrSchedule> make : schedules) {
            LrSchedule original = make.get();
            for (int i = 0; i < 7; i++) {
                original.afterUpdate(losses[i]);
            }
            LrSchedule restored = make.get();
            restored.loadStateDict(throughJson(original.stateDict()));
            String name = String.valueOf(original.stateDict().get("schedule"));
            for (int i = 7; i < losses.length; i++) {
                assertEquals(original.lr(), restored.lr(), name + " before update " + i);
                original.afterUpdate(losses[i]);
                restored.afterUpdate(losses[i]);
            }
            assertEquals(original.stateDict(), restored.stateDict(), name);
        }
        LrSchedule plateau = Schedules.plateau(0.1, 1, 0.5, 3);
        for (double loss : losses) {
            plateau.afterUpdate(loss);
        }
        assertEquals(0.025, plateau.lr());
    }

    @Test
    void stateOfAnotherScheduleIsRejected() {
        LrSchedule warmup = Schedules.warmup(0.1, 5);
        LrSchedule step = Schedules.stepDecay(0.1, 5, 0.5);
        assertEquals("the saved schedule is warmup {steps=5} but this one is step {size=5, gamma=0.5}",
                assertThrows(IllegalArgumentException.class, () -> step.loadStateDict(warmup.stateDict()))
                        .getMessage());
        LrSchedule longerWarmup = Schedules.warmup(0.1, 10);
        assertEquals("the saved schedule is warmup {steps=5} but this one is warmup {steps=10}",
                assertThrows(IllegalArgumentException.class, () -> longerWarmup.loadStateDict(warmup.stateDict()))
                        .getMessage());
    }

    @Test
    void aResumedRunMayChangeTheBaseRateAndTheCosinesLength() throws Exception {
        LrSchedule saved = Schedules.cosine(0.1, 20, 3);
        for (int i = 0; i < 5; i++) {
            saved.afterUpdate(1.0);
        }
        LrSchedule longer = Schedules.cosine(0.2, 40, 3);
        longer.loadStateDict(throughJson(saved.stateDict()));
        // update 5 of a 40-update cosine after 3 of warm-up: 0.2 * (1 + cos(pi * 2 / 37)) / 2
        assertEquals(0.2 * (1 + Math.cos(Math.PI * 2 / 37)) / 2, longer.lr(), 1e-15);
    }

    @Test
    void badParametersAreNamed() {
        assertBad("lr must be finite and > 0, got 0.0", () -> Schedules.constant(0));
        assertBad("steps must be >= 1, got 0", () -> Schedules.warmup(0.1, 0));
        assertBad("warmup must be >= 0, got -1", () -> Schedules.cosine(0.1, 10, -1));
        assertBad("totalSteps must be greater than warmup, got totalSteps 10 and warmup 10",
                () -> Schedules.cosine(0.1, 10, 10));
        assertBad("size must be >= 1, got 0", () -> Schedules.stepDecay(0.1, 0, 0.5));
        assertBad("gamma must be finite and > 0, got -0.5", () -> Schedules.stepDecay(0.1, 2, -0.5));
        assertBad("factor should be < 1.0, got 1.5", () -> Schedules.plateau(0.1, 2, 1.5, 100));
        assertBad("interval must be >= 1, got 0", () -> Schedules.plateau(0.1, 2, 0.5, 0));
    }

    private static void assertBad(String message, Executable make) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, make).getMessage());
    }

    /** The rates of the first {@code n} updates, advancing the schedule with a constant loss. */
    private static double[] lrs(LrSchedule s, int n) {
        double[] out = new double[n];
        for (int k = 0; k < n; k++) {
            out[k] = s.lr();
            s.afterUpdate(1.0);
        }
        return out;
    }

    /** The state as a checkpoint stores it: written to JSON text and read back. */
    static Map<String, Object> throughJson(Map<String, Object> state) throws Exception {
        return JSON.readValue(JSON.writeValueAsString(state), new TypeReference<Map<String, Object>>() { });
    }
}
