package dev.gradguard.metrics.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.guard.Skip;
import dev.gradguard.guard.SkipReason;
import dev.gradguard.train.StepResult;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorBoardListenerTest {
    private static final List<String> STEP_TAGS = List.of("train/loss", "train/grad_norm", "train/grad_norm_clipped",
            "train/clip_coef", "train/lr", "train/clipped", "train/skipped");

    @TempDir
    Path dir;

    private static StepResult step(long i, boolean clipped, boolean skipped) {
        double loss = skipped ? Double.NaN : 1.0 / (i + 1);
        return new StepResult(i, loss, 0.1, new StepResult.Gradients(4.0, clipped ? 1.0 : 4.0, clipped, clipped ? 0.25 : 1.0),
                skipped ? Optional.of(new Skip(SkipReason.NON_FINITE_LOSS, "loss is NaN")) : Optional.empty(),
                Optional.empty(), StepResult.Diagnostics.none(), 5.0);
    }

    /** The scalars of {@code events}, as tag -> value, for one step. */
    private static Map<String, Double> scalarsAt(List<Event> events, long step) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Event e : events) {
            for (SummaryValue v : e.values()) {
                if (e.step() == step && v.scalar().isPresent()) {
                    out.put(v.tag(), v.scalar().getAsDouble());
                }
            }
        }
        return out;
    }

    @Test
    void everyStepWritesTheSevenTrainingScalars() throws IOException {
        Path file;
        try (TensorBoardListener tb = new TensorBoardListener(new EventFileWriter(dir, Duration.ZERO), 100)) {
            tb.onStep(step(0, false, false));
            tb.onStep(step(1, true, false));
            tb.onStep(step(2, false, true));
            file = tb.file();
        }
        List<Event> events = EventFileReader.readAll(file);
        assertEquals(1 + 3 * STEP_TAGS.size(), events.size());

        Map<String, Double> first = scalarsAt(events, 0);
        assertEquals(STEP_TAGS, List.copyOf(first.keySet()));
        assertEquals(List.of(1.0, 4.0, 4.0, 1.0, (double) 0.1f, 0.0, 0.0), List.copyOf(first.values()));
        assertEquals(List.of(0.5, 4.0, 1.0, 0.25, (double) 0.1f, 1.0, 0.0), List.copyOf(scalarsAt(events, 1).values()));
        Map<String, Double> skipped = scalarsAt(events, 2);
        assertTrue(skipped.get("train/loss").isNaN());
        assertEquals(1.0, skipped.get("train/skipped"));
        assertEquals(0.0, skipped.get("train/clipped"));
    }

    @Test
    void fp16StepsAlsoWriteTheirLossScale() throws IOException {
        Path file;
        try (TensorBoardListener tb = new TensorBoardListener(new EventFileWriter(dir, Duration.ZERO), 100)) {
            tb.onStep(new StepResult(0, 0.5, 0.1, new StepResult.Gradients(4.0, 4.0, false, 1.0),
                    Optional.of(new Skip(SkipReason.FP16_OVERFLOW, "fp16 gradient overflow: loss scale lowered to 32768")),
                    Optional.empty(), new StepResult.Diagnostics(Optional.empty(), List.of(), java.util.OptionalDouble.of(65536.0)),
                    5.0));
            file = tb.file();
        }
        Map<String, Double> scalars = scalarsAt(EventFileReader.readAll(file), 0);
        assertEquals(65536.0, scalars.get("train/loss_scale"));
        assertEquals(1.0, scalars.get("train/skipped"));
        assertEquals(STEP_TAGS.size() + 1, scalars.size());
    }

    @Test
    void parameterNormsAreWantedEveryIntervalStepsAndNeverForZero() throws IOException {
        try (TensorBoardListener every3 = new TensorBoardListener(new EventFileWriter(dir), 3);
                TensorBoardListener never = new TensorBoardListener(new EventFileWriter(dir), 0)) {
            assertEquals(List.of(true, false, false, true, false, false, true),
                    List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L).stream().map(every3::wantsParameterNorms).toList());
            assertFalse(never.wantsParameterNorms(0));
            assertFalse(never.wantsParameterNorms(100));
        }
        assertThrows(IllegalArgumentException.class, () -> new TensorBoardListener(new EventFileWriter(dir), -1));
    }

    @Test
    void parameterNormsBecomeScalarsAndAHistogramOfTheFiniteOnes() throws IOException {
        Map<String, Double> norms = new LinkedHashMap<>();
        norms.put("rnn.weight_ih_l0", 3.0);
        norms.put("rnn.bias_ih_l0", 0.5);
        norms.put("head.weight", Double.POSITIVE_INFINITY);
        Path file;
        try (TensorBoardListener tb = new TensorBoardListener(new EventFileWriter(dir, Duration.ZERO), 100)) {
            tb.recordParameterNorms(200, norms);
            tb.recordParameterNorms(300, Map.of("w", Double.NaN));
            tb.addEval("accuracy", 0.875, 200);
            file = tb.file();
        }
        List<Event> events = EventFileReader.readAll(file);
        Map<String, Double> at200 = scalarsAt(events, 200);
        assertEquals(Map.of("grad_norm/rnn.weight_ih_l0", 3.0, "grad_norm/rnn.bias_ih_l0", 0.5,
                "grad_norm/head.weight", Double.POSITIVE_INFINITY, "eval/accuracy", 0.875), at200);
        List<SummaryValue> histograms = events.stream().flatMap(e -> e.values().stream())
                .filter(v -> v.histogram().isPresent()).toList();
        assertEquals(1, histograms.size(), "no histogram when no norm is finite");
        assertEquals("grad_norm/per_parameter", histograms.get(0).tag());
        Histogram h = histograms.get(0).histogram().orElseThrow();
        assertEquals(2, h.num());
        assertEquals(0.5, h.min());
        assertEquals(3.0, h.max());
        assertTrue(scalarsAt(events, 300).get("grad_norm/w").isNaN());
    }
}
