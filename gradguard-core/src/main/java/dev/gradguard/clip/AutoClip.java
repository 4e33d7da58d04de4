package dev.gradguard.clip;

import dev.gradguard.model.Parameters;
import dev.gradguard.state.StateMaps;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * AutoClip: the current 2-norm {@code g} of the gradients is appended to the history of norms, and the
 * gradients are norm-clipped to {@code T = percentile(history, p)}, with the semantics of
 * {@link ClipGrad#clipGradsWithNorm} ({@code coef = min(1, T / (g + 1e-6))}). The percentile interpolates
 * linearly between the two nearest ranks, as numpy's default ({@code rank = p / 100 * (n - 1)}): for the
 * history {@code [1, 2, 3, 4, 100]} and {@code p = 10}, {@code T = 1.4}.
 *
 * <p>The history is unbounded, as in the paper, or a ring buffer of the last {@code window} norms. A
 * non-finite norm is not added to it and leaves the gradients unchanged: one NaN or infinity would
 * otherwise stay in the history (and an infinite percentile) for good, and the guard skips such a step
 * anyway. Because the current norm is in the history, the first step's threshold is its own norm, and
 * {@code coef = g / (g + 1e-6)} then scales it by a hair, exactly as the reference implementation does.
 *
 * <p>State: the history in arrival order (oldest first).
 *
 * <p>References: Seetharaman, Wichern, Pardo and Le Roux, "AutoClip: Adaptive Gradient Clipping for Source
 * Separation Networks", IEEE MLSP 2020.
 */
public final class AutoClip implements GradientTransform {
    /** The paper's recommended percentile. */
    public static final double DEFAULT_PERCENTILE = 10.0;
    /** {@code window} for an unbounded history. */
    public static final int UNBOUNDED = 0;

    private final double percentile;
    private final int window;
    /** The history in arrival order; with a window, its last {@code window} entries. */
    private final List<Double> arrivals = new ArrayList<>();
    /** The same values, sorted ascending, kept up to date by insertion. */
    private double[] sorted = new double[16];
    private int size;

    /** AutoClip with an unbounded history. */
    public AutoClip(double percentile) {
        this(percentile, UNBOUNDED);
    }

    /**
     * @param percentile p, in {@code [0, 100]}
     * @param window how many recent norms the history keeps, {@code >= 1}, or {@link #UNBOUNDED}
     * @throws IllegalArgumentException naming the bad argument
     */
    public AutoClip(double percentile, int window) {
        if (!(percentile >= 0 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile must be in [0, 100], got " + percentile);
        }
        if (window < 0) {
            throw new IllegalArgumentException("window must be >= 1, or UNBOUNDED (0) for an unbounded history, got "
                    + window);
        }
        this.percentile = percentile;
        this.window = window;
    }

    public double percentile() {
        return percentile;
    }

    /** The history's bound, or {@link #UNBOUNDED}. */
    public int window() {
        return window;
    }

    /** The norms in the history, oldest first. */
    public List<Double> history() {
        return List.copyOf(arrivals);
    }

    /** {@code autoclip}. */
    @Override
    public String name() {
        return "autoclip";
    }

    /** {@code percentile} and {@code window} ({@link #UNBOUNDED} for an unbounded history). */
    @Override
    public Map<String, Object> config() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("percentile", percentile);
        config.put("window", window);
        return config;
    }

    @Override
    public TransformReport apply(Parameters parameters, GradientContext context) {
        double norm = context.gradNormValue();
        if (!Double.isFinite(norm)) {
            return TransformReport.unchanged(name(), norm);
        }
        record(norm);
        double threshold = percentile(sorted, size, percentile);
        double coefficient = Math.min(1.0, threshold / (norm + 1e-6));
        if (!(coefficient < 1.0)) {
            return TransformReport.unchanged(name(), norm);
        }
        context.ops().clipWithNorm(threshold, context.gradNorm());
        return new TransformReport(name(), norm, norm * coefficient, coefficient, true, Optional.empty());
    }

    private void record(double norm) {
        if (window != UNBOUNDED && arrivals.size() == window) {
            removeSorted(arrivals.remove(0));
        }
        arrivals.add(norm);
        insertSorted(norm);
    }

    private void insertSorted(double v) {
        if (size == sorted.length) {
            sorted = Arrays.copyOf(sorted, size * 2);
        }
        int at = Arrays.binarySearch(sorted, 0, size, v);
        if (at < 0) {
            at = -at - 1;
        }
        System.arraycopy(sorted, at, sorted, at + 1, size - at);
        sorted[at] = v;
        size++;
    }

    private void removeSorted(double v) {
        int at = Arrays.binarySearch(sorted, 0, size, v);
        System.arraycopy(sorted, at + 1, sorted, at, size - at - 1);
        size--;
    }

    /**
     * numpy's {@code percentile(values, p)} with its default linear method, including its way of
     * interpolating ({@code a + (b - a) * t} below {@code t = 0.5}, {@code b - (b - a) * (1 - t)} from there).
     *
     * @param ascending the values, sorted, in its first {@code n} elements
     * @param n how many values, at least one
     */
    static double percentile(double[] ascending, int n, double p) {
        double rank = p / 100.0 * (n - 1);
        int below = (int) Math.floor(rank);
        int above = Math.min(below + 1, n - 1);
        double t = rank - below;
        double a = ascending[below];
        double b = ascending[above];
        double diff = b - a;
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
    }

    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("history", new ArrayList<>(arrivals));
        return state;
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        double[] history = StateMaps.getDoubles(state, "history");
        if (window != UNBOUNDED && history.length > window) {
            throw new IllegalArgumentException("state key 'history' holds " + history.length
                    + " norms but this AutoClip keeps at most " + window);
        }
        arrivals.clear();
        size = 0;
        for (double norm : history) {
            record(norm);
        }
    }
}
