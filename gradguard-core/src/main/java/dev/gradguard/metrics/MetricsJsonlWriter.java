package dev.gradguard.metrics;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.gradguard.train.StepResult;
import dev.gradguard.train.TrainingListener;
import dev.gradguard.train.TrainingOutcome;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes {@code metrics.jsonl}: one JSON object per step with {@code step, loss, grad_norm,
 * grad_norm_clipped, clipped, clip_coef, lr, skipped, time_ms}, plus {@code loss_scale} (the scale this
 * step's loss was multiplied by) in fp16 runs, {@code nonfinite}, {@code skip_reason} (one readable line) and
 * {@code skip_code} (a {@link dev.gradguard.guard.SkipReason#code()}) on skipped steps, {@code attribution} (trigger, nonfinite_layers, top_layers) on
 * non-finite, skipped and hard-clipped steps, and {@code control} (kind, old, new, reason) on steps where
 * the controller changed something. Each line is flushed when written, so a killed run leaves every
 * finished step on disk.
 */
public final class MetricsJsonlWriter implements TrainingListener, Closeable {
    private final Path file;
    private final BufferedWriter out;

    /**
     * Creates (or appends to) the file.
     *
     * @throws FileSystemException when {@code file} exists but is not a regular file (a named pipe would block)
     */
    public MetricsJsonlWriter(Path file) throws IOException {
        requireRegularOrAbsent(file);
        this.file = file;
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    /**
     * Continues a run's file after a restart: keeps its first {@code keepBytes} bytes (what {@link #length()}
     * said when the checkpoint was taken) and appends from there, so every step appears once.
     *
     * @throws IllegalArgumentException when the file is shorter than {@code keepBytes}
     */
    public static MetricsJsonlWriter resume(Path file, long keepBytes) throws IOException {
        requireRegularOrAbsent(file);
        long size = Files.exists(file) ? Files.size(file) : 0;
        if (keepBytes < 0 || keepBytes > size) {
            throw new IllegalArgumentException("cannot resume " + file + " at byte " + keepBytes + ": it holds " + size);
        }
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file,
                StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            channel.truncate(keepBytes);
        }
        return new MetricsJsonlWriter(file);
    }

    private static void requireRegularOrAbsent(Path file) throws FileSystemException {
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new FileSystemException(file.toString(), null, "not a regular file (a directory, named pipe or device)");
        }
    }

    /** The file's length in bytes: every finished step's line (each line is flushed when written). */
    public long length() throws IOException {
        out.flush();
        return Files.size(file);
    }

    /** The step as the map written on its line. */
    public static Map<String, Object> toMap(StepResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", r.step());
        m.put("loss", Json.number(r.loss()));
        m.put("grad_norm", Json.number(r.gradients().norm()));
        m.put("grad_norm_clipped", Json.number(r.gradients().clippedNorm()));
        m.put("clipped", r.gradients().clipped());
        m.put("clip_coef", Json.number(r.gradients().clipCoef()));
        m.put("lr", Json.number(r.lr()));
        r.diagnostics().lossScale().ifPresent(scale -> m.put("loss_scale", Json.number(scale)));
        m.put("skipped", r.skipped());
        m.put("time_ms", Math.round(r.timeMs() * 1000.0) / 1000.0);
        r.skip().ifPresent(skip -> {
            m.put("nonfinite", skip.reason().nonFinite());
            m.put("skip_reason", skip.detail());
            m.put("skip_code", skip.reason().code());
        });
        r.diagnostics().attribution().ifPresent(a -> {
            Map<String, Object> at = new LinkedHashMap<>();
            at.put("trigger", a.trigger());
            at.put("nonfinite_layers", a.nonFiniteLayers());
            at.put("top_layers", a.topLayers().stream().map(l -> {
                Map<String, Object> layer = new LinkedHashMap<>();
                layer.put("name", l.name());
                layer.put("norm", Json.number(l.norm()));
                return layer;
            }).toList());
            m.put("attribution", at);
        });
        if (!r.diagnostics().control().isEmpty()) {
            m.put("control", r.diagnostics().control().stream().map(d -> {
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("kind", d.kind().name().toLowerCase(java.util.Locale.ROOT));
                c.put("old", Json.number(d.oldValue()));
                c.put("new", Json.number(d.newValue()));
                c.put("reason", d.reason());
                return c;
            }).toList());
        }
        return m;
    }

    @Override
    public void onStep(StepResult result) {
        try {
            out.write(Json.compact().writeValueAsString(toMap(result)));
            out.write('\n');
            out.flush();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a step result could not be written as JSON", e);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write metrics: " + e.getMessage(), e);
        }
    }

    @Override
    public void onTrainEnd(TrainingOutcome outcome) {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("could not write metrics: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
