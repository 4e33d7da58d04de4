package dev.gradguard.cli.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradguard.optim.LrSchedule;
import dev.gradguard.optim.Schedules;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Each spec against the schedule the library's factory builds from the same settings, rate by rate and state. */
class ScheduleSpecsTest {

    @Test
    void everySpecBuildsTheFactorysSchedule() {
        assertSame(() -> Schedules.constant(0.1), "constant", 0.1, 10);
        assertSame(() -> Schedules.warmup(0.1, 5), "warmup:5", 0.1, 10);
        assertSame(() -> Schedules.cosine(0.1, 10, 0), "cosine", 0.1, 10);
        assertSame(() -> Schedules.cosine(0.1, 10, 3), "cosine:3", 0.1, 10);
        assertSame(() -> Schedules.stepDecay(0.1, 10, 0.5), "step:10:0.5", 0.1, 10);
        assertSame(() -> Schedules.plateau(0.1, 2, 0.25, 7), "plateau:2:0.25:7", 0.1, 10);
        assertSame(() -> Schedules.plateau(0.1, 3, 0.5, 100), "plateau:3:0.50", 0.1, 10);
        assertSame(() -> Schedules.plateau(0.1), "plateau", 0.1, 10);
        assertSame(() -> Schedules.plateau(0.1, 3, 0.1, 100), "plateau:3", 0.1, 10);
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
        assertBad("cosine:10", 10, "steps must be greater than WARMUP, got steps 10 and WARMUP 10");
        assertBad("cosine", 0, "steps must be greater than WARMUP, got steps 0 and WARMUP 0");
        assertBad("step:2", 10, "'step' takes 2 argument(s), got 1");
        assertBad("step:2:abc", 10, "GAMMA must be a number, got 'abc'");
        assertBad("step:2:-0.5", 10, "GAMMA must be finite and > 0, got -0.5");
        assertBad("plateau:1:0.5:3:9", 10, "'plateau' takes 0 to 3 argument(s), got 4");
        assertBad("plateau:2:1.5", 10, "FACTOR should be < 1.0, got 1.5");
        assertBad("plateau:-2", 10, "PATIENCE must be an integer >= 0, got -2");
        assertBad("plateau:3000000000", 10, "PATIENCE must be at most 2147483647, got 3000000000");
        assertBad("plateau:2:0.5:0", 10, "INTERVAL must be an integer >= 1, got 0");
    }

    private static void assertSame(Supplier<LrSchedule> expected, String spec, double lr, long totalSteps) {
        LrSchedule want = expected.get();
        LrSchedule got = ScheduleSpecs.parse(spec, lr, totalSteps);
        assertEquals(want.stateDict(), got.stateDict(), spec);
        double[] losses = {5, 4, 4.5, 4.4, 4.6, 4.39, 4.7, 4.8, 4.9, 5.0, 5.1, 5.2};
        double[] wanted = new double[losses.length];
        double[] gotten = new double[losses.length];
        for (int i = 0; i < losses.length; i++) {
            wanted[i] = want.lr();
            gotten[i] = got.lr();
            want.afterUpdate(losses[i]);
            got.afterUpdate(losses[i]);
        }
        assertArrayEquals(wanted, gotten, spec);
        got.loadStateDict(want.stateDict());
        assertEquals(List.of(want.stateDict()), List.of(got.stateDict()), spec);
    }

    private static void assertBad(String spec, long totalSteps, String problem) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ScheduleSpecs.parse(spec, 0.1, totalSteps));
        assertEquals("bad schedule '" + spec + "': " + problem + "; allowed: constant, warmup:STEPS, cosine, "
                + "cosine:WARMUP, step:SIZE:GAMMA, plateau[:PATIENCE[:FACTOR[:INTERVAL]]]", e.getMessage());
    }
}
