package dev.gradguard.report;

import dev.gradguard.io.RegularFiles;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.ToDoubleFunction;

/** A run's {@code metrics.jsonl} as columns, for plotting. Immutable. */
public final class RunMetrics {
    /** The largest {@code metrics.jsonl} read, about a million steps: it is read whole. */
    static final long MAX_BYTES = 256L << 20;

    private final List<MetricsRow> rows;

    private RunMetrics(List<MetricsRow> rows) {
        this.rows = List.copyOf(rows);
    }

    /** The given rows, in order. */
    public static RunMetrics of(List<MetricsRow> rows) {
        return new RunMetrics(rows);
    }

    /**
     * Reads a {@code metrics.jsonl}.
     *
     * @throws IllegalArgumentException with one line naming the file and what is wrong: not a regular file (a
     *     named pipe, a device, a directory), over {@link #MAX_BYTES}, not UTF-8 text, or a malformed line
     * @throws IOException when the file cannot be read
     */
    public static RunMetrics read(Path file) throws IOException {
        RegularFiles.whyUnreadable(file, MAX_BYTES).ifPresent(why -> {
            throw new IllegalArgumentException(file + " " + why);
        });
        try {
            return new RunMetrics(MetricsRow.parseAll(Files.readAllLines(file, StandardCharsets.UTF_8)));
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(file + " is not UTF-8 text (binary, or damaged?)");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage());
        }
    }

    public List<MetricsRow> rows() {
        return rows;
    }

    public int size() {
        return rows.size();
    }

    public double[] steps() {
        return column(r -> r.step());
    }

    public double[] loss() {
        return column(MetricsRow::loss);
    }

    public double[] gradNorm() {
        return column(MetricsRow::gradNorm);
    }

    public double[] gradNormClipped() {
        return column(MetricsRow::gradNormClipped);
    }

    public double[] lr() {
        return column(MetricsRow::lr);
    }

    /** The steps whose update was skipped with non-finite loss or gradients. */
    public List<Long> nonFiniteSteps() {
        return rows.stream().filter(r -> r.skipped() && r.nonFinite()).map(MetricsRow::step).toList();
    }

    /** The steps skipped for another reason (a spike guard, say), with finite values. */
    public List<Long> otherSkippedSteps() {
        return rows.stream().filter(r -> r.skipped() && !r.nonFinite()).map(MetricsRow::step).toList();
    }

    /**
     * The fraction of clipped steps among the last {@code window} steps (fewer at the start), per step.
     *
     * @throws IllegalArgumentException when {@code window < 1}
     */
    public double[] clipRate(int window) {
        if (window < 1) {
            throw new IllegalArgumentException("window must be at least 1, got " + window);
        }
        double[] out = new double[rows.size()];
        int inWindow = 0;
        for (int i = 0; i < rows.size(); i++) {
            inWindow += rows.get(i).clipped() ? 1 : 0;
            if (i >= window) {
                inWindow -= rows.get(i - window).clipped() ? 1 : 0;
            }
            out[i] = (double) inWindow / Math.min(i + 1, window);
        }
        return out;
    }

    /**
     * The clipping threshold in force at each step: {@code initial}, then each value a controller set
     * (which applies from the step after its decision).
     */
    public double[] threshold(double initial) {
        double[] out = new double[rows.size()];
        double current = initial;
        for (int i = 0; i < rows.size(); i++) {
            out[i] = current;
            if (rows.get(i).thresholdChange().isPresent()) {
                current = rows.get(i).thresholdChange().getAsDouble();
            }
        }
        return out;
    }

    /**
     * The clip rate's moving window, in steps: one window for every chart of it (the run report, the
     * dashboard, the comparison), so that their rates can be compared, and named on each.
     */
    public static final int CLIP_RATE_WINDOW = 50;

    /** A smoothing window for {@code steps} steps: about a twentieth of the run, from 10 to 100 steps. */
    public static int window(int steps) {
        return Math.max(10, Math.min(100, steps / 20));
    }

    private double[] column(ToDoubleFunction<MetricsRow> f) {
        return rows.stream().mapToDouble(f).toArray();
    }
}
