package dev.gradguard.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.gradguard.clip.PipelineReport;
import dev.gradguard.clip.ThresholdClip;
import dev.gradguard.metrics.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AutoControllerTest {

    /** A threshold held in a field, standing in for a clipping transform. */
    private static final class Threshold implements ThresholdClip {
        private double value;

        Threshold(double value) {
            this.value = value;
        }

        @Override
        public double threshold() {
            return value;
        }

        @Override
        public void setThreshold(double threshold) {
            value = threshold;
        }
    }

    /** N 3, factor 0.5, floor 0.2, near 0.9, M 4, warmup 2, relax 2, cap 3, cv 0.5. */
    private static final AutoController.Options OPTIONS =
            new AutoController.Options(3, 0.5, 0.2, 0.9, 4, 2, 2.0, 3.0, 0.5);

    /** One scripted step: its pre-clip norm, whether it was clipped, whether its update was applied. */
    private record Step(double norm, boolean clipped, boolean applied) {
        static Step ok(double norm) {
            return new Step(norm, false, true);
        }

        static Step clipped(double norm) {
            return new Step(norm, true, true);
        }

        static Step skipped(double norm) {
            return new Step(norm, false, false);
        }
    }

    /** A decision reduced to what the tests compare. */
    private record Seen(long step, ControlDecision.Kind kind, double oldValue, double newValue) {
    }

    private static List<Seen> run(Controller c, long firstStep, List<Step> steps) {
        List<Seen> seen = new ArrayList<>();
        long step = firstStep;
        for (Step s : steps) {
            PipelineReport report = new PipelineReport(s.norm(), s.clipped() ? 1.0 : s.norm(), s.clipped(),
                    Optional.empty(), List.of());
            for (ControlDecision d : c.observe(step, report, s.applied())) {
                assertEquals(step, d.step());
                seen.add(new Seen(d.step(), d.kind(), d.oldValue(), d.newValue()));
            }
            step++;
        }
        return seen;
    }

    private static List<Step> repeat(int times, Step step) {
        return java.util.Collections.nCopies(times, step);
    }

    @SafeVarargs
    private static List<Step> concat(List<Step>... parts) {
        List<Step> all = new ArrayList<>();
        for (List<Step> p : parts) {
            all.addAll(p);
        }
        return all;
    }

    private static final ControlDecision.Kind LOWER = ControlDecision.Kind.LOWER_LR;
    private static final ControlDecision.Kind RELAX = ControlDecision.Kind.RELAX_THRESHOLD;

    @Test
    void lowersTheLrAfterNConsecutiveNearThresholdStepsDownToTheFloor() {
        AutoController c = new AutoController(OPTIONS, new Threshold(1.0));
        List<Step> steps = concat(
                List.of(Step.ok(0.95), Step.ok(0.95), Step.ok(0.5)),    // the run is broken at step 2
                repeat(3, Step.ok(0.95)),                               // steps 3-5: lower at 5
                repeat(3, Step.clipped(1.5)),                           // steps 6-8: lower at 8
                List.of(Step.ok(Double.NaN), Step.skipped(Double.POSITIVE_INFINITY), Step.clipped(2.0)), // 9-11
                repeat(3, Step.clipped(2.0)));                          // 12-14: at the floor, no decision

        assertEquals(List.of(new Seen(5, LOWER, 1.0, 0.5), new Seen(8, LOWER, 0.5, 0.25),
                new Seen(11, LOWER, 0.25, 0.2)), run(c, 0, steps));
        assertEquals(0.2, c.lrScale());
    }

    @Test
    void aNormExactlyAtNearTimesThresholdDoesNotCount() {
        AutoController c = new AutoController(OPTIONS, new Threshold(1.0));
        assertEquals(List.of(), run(c, 0, repeat(5, Step.ok(0.9))));
        assertEquals(1.0, c.lrScale());
    }

    @Test
    void relaxesTheThresholdAfterMStableStepsPastWarmUpUpToTheCap() {
        Threshold t = new Threshold(1.0);
        AutoController c = new AutoController(OPTIONS, t);
        List<Step> steps = concat(
                repeat(2, Step.ok(0.5)),                                            // steps 0-1: warm-up
                List.of(Step.ok(0.5), Step.ok(0.55), Step.ok(0.45), Step.ok(0.5)),  // 2-5: relax at 5
                repeat(4, Step.ok(0.5)),                                            // 6-9: relax at 9, to the cap
                repeat(8, Step.ok(0.5)));                                           // 10-17: at the cap

        assertEquals(List.of(new Seen(5, RELAX, 1.0, 2.0), new Seen(9, RELAX, 2.0, 3.0)), run(c, 0, steps));
        assertEquals(3.0, t.threshold());
        assertEquals(1.0, c.lrScale());
    }

    @Test
    void aClippedOrSkippedStepRestartsTheStableWindow() {
        AutoController c = new AutoController(OPTIONS, new Threshold(1.0));
        List<Step> steps = concat(
                repeat(3, Step.ok(0.5)),            // steps 2-4
                List.of(Step.clipped(0.5)),         // 5
                repeat(3, Step.ok(0.5)),            // 6-8
                List.of(Step.skipped(0.5)),         // 9
                repeat(4, Step.ok(0.5)));           // 10-13: relax at 13
        assertEquals(List.of(new Seen(13, RELAX, 1.0, 2.0)), run(c, 2, steps));
    }

    @Test
    void aHighCoefficientOfVariationHoldsTheThresholdUntilTheWindowSettles() {
        AutoController c = new AutoController(OPTIONS, new Threshold(1.0));
        // windows ending at 5, 6 and 7 have cv 0.78, 0.52 and 0.52; the one ending at 8, [0.8, 0.5, 0.5, 0.5], 0.23
        List<Step> steps = concat(List.of(Step.ok(0.1), Step.ok(0.8), Step.ok(0.1), Step.ok(0.8)),
                repeat(3, Step.ok(0.5)));
        assertEquals(List.of(new Seen(8, RELAX, 1.0, 2.0)), run(c, 2, steps));
    }

    @Test
    void loweringTheLrRestartsTheStableWindow() {
        AutoController.Options noWarmup = new AutoController.Options(3, 0.5, 0.2, 0.9, 4, 0, 2.0, 3.0, 0.5);
        AutoController c = new AutoController(noWarmup, new Threshold(1.0));
        // without the restart, the window [0.95, 0.95, 0.5, 0.5] (cv 0.31) would relax at step 4
        List<Step> steps = concat(repeat(3, Step.ok(0.95)), repeat(4, Step.ok(0.5)));
        assertEquals(List.of(new Seen(2, LOWER, 1.0, 0.5), new Seen(6, RELAX, 1.0, 2.0)), run(c, 0, steps));
    }

    @Test
    void decisionsSayWhy() {
        AutoController c = new AutoController(OPTIONS, new Threshold(1.0));
        run(c, 0, repeat(2, Step.ok(0.95)));
        PipelineReport near = new PipelineReport(0.95, 0.95, false, Optional.empty(), List.of());
        ControlDecision d = c.observe(2, near, true).get(0);
        assertEquals("lr scale 1.00000 -> 0.500000 (floor 0.2): pre-clip norm above 0.9 x threshold 1.00000 for 3 "
                + "steps in a row (last 0.950000)", d.reason());
        AutoController r = new AutoController(OPTIONS, new Threshold(1.0));
        run(r, 2, repeat(3, Step.ok(0.5)));
        PipelineReport calm = new PipelineReport(0.5, 0.5, false, Optional.empty(), List.of());
        assertEquals("threshold 1.00000 -> 2.00000 (cap 3.0 x 1.00000): no clipped or skipped step in the last 4 steps "
                + "and the norm's coefficient of variation 0.000 < 0.5", r.observe(5, calm, true).get(0).reason());
    }

    private static Map<String, Object> throughJson(Map<String, Object> state) throws Exception {
        return Json.compact().readValue(Json.compact().writeValueAsString(state),
                new TypeReference<Map<String, Object>>() { });
    }

    @Test
    void stateRoundTripsThroughJsonAndGivesIdenticalLaterDecisions() throws Exception {
        List<Step> script = concat(repeat(6, Step.ok(0.5)), repeat(2, Step.ok(1.9)), repeat(5, Step.ok(0.6)),
                repeat(4, Step.ok(2.8)), repeat(9, Step.ok(0.7)));
        Threshold t1 = new Threshold(1.0);
        AutoController original = new AutoController(OPTIONS, t1);
        List<Seen> before = run(original, 0, script.subList(0, 7));
        assertEquals(List.of(new Seen(5, RELAX, 1.0, 2.0)), before);

        Threshold t2 = new Threshold(1.0);
        AutoController restored = new AutoController(OPTIONS, t2);
        restored.loadStateDict(throughJson(original.stateDict()));
        assertEquals(2.0, t2.threshold());
        assertEquals(1.0, restored.initialThreshold());

        List<Step> rest = script.subList(7, script.size());
        List<Seen> a = run(original, 7, rest);
        List<Seen> b = run(restored, 7, rest);
        assertEquals(a, b);
        assertTrue(a.stream().anyMatch(s -> s.kind() == LOWER) && a.stream().anyMatch(s -> s.kind() == RELAX), a.toString());
        assertEquals(original.lrScale(), restored.lrScale());
        assertEquals(t1.threshold(), t2.threshold());
        assertEquals(original.stateDict(), restored.stateDict());
    }

    @Test
    void optionsAreValidatedByTheirParameterNames() {
        String m = assertThrows(IllegalArgumentException.class,
                () -> new AutoController.Options(3, 1.5, 0.2, 0.9, 4, 2, 2.0, 3.0, 0.5)).getMessage();
        assertEquals("lrFactor must be in (0, 1), got 1.5", m);
        m = assertThrows(IllegalArgumentException.class,
                () -> new AutoController.Options(3, 0.5, 0.2, 0.9, 4, 2, 1.0, 3.0, 0.5)).getMessage();
        assertEquals("relaxFactor must be a finite number > 1, got 1.0", m);
    }
}
