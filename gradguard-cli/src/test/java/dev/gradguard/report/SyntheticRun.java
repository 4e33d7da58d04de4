package dev.gradguard.report;

import dev.gradguard.control.ControlDecision;
import dev.gradguard.guard.Skip;
import dev.gradguard.guard.SkipReason;
import dev.gradguard.metrics.Json;
import dev.gradguard.metrics.MetricsJsonlWriter;
import dev.gradguard.metrics.tensorboard.EventFileWriter;
import dev.gradguard.train.StepResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Writes small run directories as {@code train} writes them (with the project's own metrics and event
 * file writers): steps 20 and 21 non-finite and skipped, step 40 skipped with finite values, the clip
 * threshold of {@code norm:1.0} raised to 2.0 by a controller after step 30, and per-layer norms every 10
 * steps, non-finite for the first layer at step 20.
 */
public final class SyntheticRun {
    public static final List<String> LAYERS = List.of("encoder.weight_ih_l0", "encoder.bias_hh_l0", "head.weight");
    public static final List<Long> NONFINITE_STEPS = List.of(20L, 21L);
    public static final long FINITE_SKIP_STEP = 40;
    public static final long THRESHOLD_RAISED_AFTER = 30;
    public static final String CHECKSUM = "0123abcd" + "ef".repeat(28);

    private SyntheticRun() {
    }

    /** A finished run of {@code steps} steps: metrics, event file and summary. */
    public static Path write(Path dir, int steps, String clip) throws IOException {
        Files.createDirectories(dir);
        appendSteps(dir, 0, steps);
        try (EventFileWriter events = new EventFileWriter(dir, Duration.ZERO)) {
            for (long s = 0; s < steps; s += 10) {
                double[] norms = new double[LAYERS.size()];
                for (int l = 0; l < LAYERS.size(); l++) {
                    norms[l] = s == 20 && l == 0 ? Double.NaN : Math.pow(10, -l) * (1 + s / 100.0);
                    events.addScalar("grad_norm/" + LAYERS.get(l), norms[l], s, 1e9 + s);
                }
                events.addHistogram("grad_norm/per_parameter", norms, s, 1e9 + s);
                events.addScalar("train/loss", loss(s), s, 1e9 + s);
            }
        }
        writeSummary(dir, steps, clip);
        return dir;
    }

    /** Appends steps {@code from} (inclusive) to {@code to} (exclusive) to {@code metrics.jsonl}. */
    public static void appendSteps(Path dir, long from, long to) throws IOException {
        try (MetricsJsonlWriter metrics = new MetricsJsonlWriter(dir.resolve("metrics.jsonl"))) {
            for (long s = from; s < to; s++) {
                metrics.onStep(step(s));
            }
        }
    }

    public static void writeSummary(Path dir, int steps, String clip) throws IOException {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("task", "adding");
        config.put("model", "gru");
        config.put("steps", steps);
        config.put("clip", clip);
        config.put("lr", 0.5);
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("task", "adding");
        s.put("model", "gru");
        s.put("steps", steps);
        s.put("final_loss", loss(steps - 1));
        s.put("metric", "test_mse");
        s.put("metric_value", 0.004);
        s.put("baseline_value", 1.0 / 6);
        s.put("criterion", "test_mse < 0.01");
        s.put("learned", true);
        s.put("skipped_steps", 3);
        s.put("nonfinite_steps", 2);
        s.put("clipped_steps", 7);
        s.put("clip_rate", 7.0 / steps);
        s.put("params_finite", true);
        s.put("param_checksum", CHECKSUM);
        s.put("completed", true);
        s.put("wall_s", 12.5);
        s.put("config", config);
        Files.writeString(dir.resolve("summary.json"), Json.pretty().writeValueAsString(s) + "\n");
    }

    public static double loss(long s) {
        return 2 * Math.exp(-s / 30.0) + 0.01;
    }

    static StepResult step(long s) {
        boolean nonFinite = NONFINITE_STEPS.contains(s);
        boolean skipped = nonFinite || s == FINITE_SKIP_STEP;
        double norm = nonFinite ? Double.NaN : s % 7 == 0 ? 3.0 : 0.2 + 0.1 * (s % 5);
        double threshold = s > THRESHOLD_RAISED_AFTER ? 2.0 : 1.0;
        boolean clipped = !skipped && norm > threshold;
        double clippedNorm = clipped ? threshold : norm;
        List<ControlDecision> control = s == THRESHOLD_RAISED_AFTER
                ? List.of(new ControlDecision(s, ControlDecision.Kind.RELAX_THRESHOLD, 1.0, 2.0, "test"))
                : List.of();
        Optional<Skip> skip = !skipped ? Optional.empty() : Optional.of(nonFinite
                ? new Skip(SkipReason.NON_FINITE_GRADIENT, "non-finite gradients")
                : new Skip(SkipReason.SPIKE, "gradient spike"));
        return new StepResult(s, nonFinite ? Double.NaN : loss(s), 0.5,
                new StepResult.Gradients(norm, clippedNorm, clipped, clipped ? clippedNorm / norm : 1.0), skip,
                Optional.empty(), new StepResult.Diagnostics(Optional.empty(), control, java.util.OptionalDouble.empty()),
                1.0);
    }
}
