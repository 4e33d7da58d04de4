package dev.gradguard.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each schedule's learning rates against its formula, worked out as explicit numbers. */
class SchedulesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void constantKeepsTheBaseRate() {
        assertArrayEquals(new double[] {0.1, 0.1, 0.1, 0.1}, lrs(Schedules.parse("constant", 0.1, 10), 4));
    }

    @Test
    void warmupRampsLinearlyFromLrOverN() {
        // 0.2 * min(1, (k + 1) / 4)
        assertArrayEquals(new double[] {0.05, 0.1, 0.15000000000000002, 0.2, 0.2, 0.2},
                lrs(Schedules.parse("warmup:4", 0.2, 10), 6));
    }

    @Test
    void cosineAnnealsToZeroOverTheRunAndStaysThere() {
        // (1 + cos(pi * k / 4)) / 2 for k = 0..4, then 0
        assertArrayEquals(new double[] {1.0, 0.8535533905932737, 0.5, 0.14644660940672624, 0.0, 0.0},
                lrs(Schedules.parse("cosine", 1.0, 4), 6), 1e-15);
    }

    @Test
    void cosineWithWarmupRampsThenAnnealsOverTheRemainingSteps() {
        // k < 2: (k + 1) / 2; then (1 + cos(pi * (k - 2) / 4)) / 2 over total 6
        assertArrayEquals(new double[] {0.5, 1.0, 1.0, 0.8535533905932737, 0.5, 0.14644660940672624,
            0.0}, lrs(Schedules.parse("cosine:2", 1.0, 6), 7), 1e-15);
    }

    @Test
    void stepDecaysByGammaEverySizeUpdates() {
        // 0.8 * 0.5^floor(k / 2)
        assertArrayEquals(new double[] {0.8, 0.8, 0.4, 0.4, 0.2, 0.2, 0.1},
                lrs(Schedules.parse("step:2:0.5", 0.8, 100), 7));
    }

    @Test
    void plateauFeedsTheMeanLossOfEachInterval() {
        // intervals of 2 updates: means 3 (best), 3 (bad 1), 3 (bad 2 > patience 1: lr 1.0 -> 0.5)
        LrSchedule s = Schedules.parse("plateau:1:0.5:2", 1.0, 100);
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
        LrSchedule s = Schedules.parse("plateau", 1.0, 100);
        assertEquals("plateau:10:0.1:100", s.spec());
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
    void specIsCanonicalAndParsesBackToItself() {
        assertEquals("plateau:3:0.1:100", Schedules.parse("plateau:3", 1.0, 10).spec());
        assertEquals("plateau:3:0.5:100", Schedules.parse("plateau:3:0.50", 1.0, 10).spec());
        for (String spec : new String[] {"constant", "warmup:5", "cosine", "cosine:3", "step:10:0.5",
            "plateau:2:0.25:7"}) {
            LrSchedule s = Schedules.parse(spec, 0.1, 10);
            assertEquals(spec, s.spec());
            assertEquals(spec, Schedules.parse(s.spec(), 0.1, 10).spec());
        }
    }

    @Test
    void restoredScheduleContinuesExactly() throws Exception {
        // plateau:1:0.5:3 sees means 4.5, 4.46, 4.8, 5.1, 5.4, 5.7: reductions after updates 12 and 18
        double[] losses = {5, 4, 4.5, 4.4, 4.6, 4.39, 4.7, 4.8, 4.9, 5.0, 5.1, 5.2, 5.3, 5.4, 5.5, 5.6, 5.7, 5.8};
        for (String spec : new String[] {"constant", "warmup:5", "cosine:3", "step:4:0.3", "plateau:1:0.5:3"}) {
            LrSchedule original = Schedules.parse(spec, 0.1, 20);
            for (int i = 0; i < 7; i++) {
                original.afterUpdate(losses[i]);
            }
            LrSchedule restored = Schedules.parse(spec, 0.1, 20);
            restored.loadStateDict(throughJson(original.stateDict()));
            for (int i = 7; i < losses.length; i++) {
                assertEquals(original.lr(), restored.lr(), spec + " before update " + i);
                original.afterUpdate(losses[i]);
                restored.afterUpdate(losses[i]);
            }
            assertEquals(original.stateDict(), restored.stateDict(), spec);
        }
        LrSchedule plateau = Schedules.parse("plateau:1:0.5:3", 0.1, 20);
        for (double loss : losses) {
            plateau.afterUpdate(loss);
        }
        assertEquals(0.025, plateau.lr());
    }

    @Test
    void stateOfAnotherScheduleIsRejected() {
        LrSchedule warmup = Schedules.parse("warmup:5", 0.1, 20);
        LrSchedule step = Schedules.parse("step:5:0.5", 0.1, 20);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> step.loadStateDict(warmup.stateDict()));
        assertEquals("state key 'schedule' holds 'warmup:5' but this schedule is 'step:5:0.5'", e.getMessage());
    }

    @Test
    void malformedSpecsNameTheSpecTheProblemAndTheAllowedForms() {
        assertBad("linear", 10, "unknown schedule 'linear'");
        assertBad("", 10, "unknown schedule ''");
        assertBad("constant:3", 10, "'constant' takes 0 argument(s), got 1");
        assertBad("warmup", 10, "'warmup' takes 1 argument(s), got 0");
        assertBad("warmup:x", 10, "STEPS must be an integer >= 1, got 'x'");
        assertBad("warmup:0", 10, "STEPS must be an integer >= 1, got 0");
        assertBad("cosine:-1", 10, "WARMUP must be an integer >= 0, got -1");
        assertBad("cosine:10", 10, "cosine needs more total steps than warm-up steps, got total 10 and warm-up 10");
        assertBad("cosine", 0, "cosine needs more total steps than warm-up steps, got total 0 and warm-up 0");
        assertBad("step:2", 10, "'step' takes 2 argument(s), got 1");
        assertBad("step:2:abc", 10, "GAMMA must be a number, got 'abc'");
        assertBad("step:2:-0.5", 10, "gamma must be finite and > 0, got -0.5");
        assertBad("plateau:1:0.5:3:9", 10, "'plateau' takes 0 to 3 argument(s), got 4");
        assertBad("plateau:2:1.5", 10, "factor should be < 1.0, got 1.5");
        assertBad("plateau:-2", 10, "PATIENCE must be an integer >= 0, got -2");
        assertBad("plateau:2:0.5:0", 10, "INTERVAL must be an integer >= 1, got 0");
    }

    @Test
    void baseLrMustBePositive() {
        assertEquals("base lr must be finite and > 0, got 0.0", assertThrows(IllegalArgumentException.class,
                () -> Schedules.parse("constant", 0, 10)).getMessage());
    }

    private static void assertBad(String spec, long totalSteps, String problem) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Schedules.parse(spec, 0.1, totalSteps));
        assertEquals("bad schedule '" + spec + "': " + problem + "; allowed: constant, warmup:STEPS, cosine, "
                + "cosine:WARMUP, step:SIZE:GAMMA, plateau[:PATIENCE[:FACTOR[:INTERVAL]]]", e.getMessage());
        assertTrue(e.getMessage().endsWith(Schedules.ALLOWED_FORMS));
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
