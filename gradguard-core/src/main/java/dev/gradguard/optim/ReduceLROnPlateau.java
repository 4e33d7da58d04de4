package dev.gradguard.optim;

import dev.gradguard.state.StateMaps;
import dev.gradguard.state.Stateful;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Lowers the learning rate when a metric stops improving, with exactly the semantics of PyTorch's
 * {@code torch.optim.lr_scheduler.ReduceLROnPlateau} for one parameter group.
 *
 * <p>Each {@link #step(double)} is one "epoch": the metric is an improvement when it beats the best so far
 * by the threshold ({@link #isBetter}); otherwise the count of bad epochs grows. While a cooldown runs,
 * its counter falls by one per step and bad epochs are forgotten. Once the count of bad epochs exceeds
 * {@code patience}, the learning rate becomes {@code max(lr * factor, minLr)}, but only if that lowers it
 * by more than {@code eps}; the cooldown then restarts and the count returns to 0. With
 * {@code patience = 2}, the reduction comes on the third bad epoch in a row after the last improvement.
 *
 * <p>Not thread-safe.
 */
public final class ReduceLROnPlateau implements Stateful {

    /** Whether a lower ({@code MIN}, e.g. a loss) or a higher ({@code MAX}, e.g. accuracy) metric is better. */
    public enum Mode { MIN, MAX }

    /** Whether {@code threshold} is relative to the best value ({@code REL}) or absolute ({@code ABS}). */
    public enum ThresholdMode { REL, ABS }

    /**
     * The scheduler's configuration, with PyTorch's names and checks.
     *
     * @param mode which direction is better
     * @param factor the multiplier applied on a reduction, in {@code [0, 1)}
     * @param patience bad epochs tolerated before a reduction, {@code >= 0}
     * @param threshold the margin an improvement must clear, finite and {@code >= 0}
     * @param thresholdMode how {@code threshold} is applied
     * @param cooldown epochs after a reduction during which bad epochs are not counted, {@code >= 0}
     * @param minLr the floor of the learning rate, finite and {@code >= 0}
     * @param eps reductions of at most this size are skipped, finite and {@code >= 0}
     */
    public record Options(Mode mode, double factor, int patience, double threshold, ThresholdMode thresholdMode,
            int cooldown, double minLr, double eps) {

        /**
         * Validates every field.
         *
         * @throws IllegalArgumentException naming the first invalid field and its value
         */
        public Options {
            Objects.requireNonNull(mode, "mode must be MIN or MAX");
            Objects.requireNonNull(thresholdMode, "thresholdMode must be REL or ABS");
            if (!(factor < 1.0)) {
                throw new IllegalArgumentException("factor should be < 1.0, got " + factor);
            }
            if (!(factor >= 0)) {
                throw new IllegalArgumentException("factor should be >= 0, got " + factor);
            }
            if (patience < 0) {
                throw new IllegalArgumentException("patience should be >= 0, got " + patience);
            }
            if (!(Double.isFinite(threshold) && threshold >= 0)) {
                throw new IllegalArgumentException("threshold should be finite and >= 0, got " + threshold);
            }
            if (cooldown < 0) {
                throw new IllegalArgumentException("cooldown should be >= 0, got " + cooldown);
            }
            if (!(Double.isFinite(minLr) && minLr >= 0)) {
                throw new IllegalArgumentException("minLr should be finite and >= 0, got " + minLr);
            }
            if (!(Double.isFinite(eps) && eps >= 0)) {
                throw new IllegalArgumentException("eps should be finite and >= 0, got " + eps);
            }
        }

        /**
         * PyTorch's defaults: mode min, factor 0.1, patience 10, threshold 1e-4 relative, cooldown 0,
         * min_lr 0, eps 1e-8.
         */
        public static Options defaults() {
            return new Options(Mode.MIN, 0.1, 10, 1e-4, ThresholdMode.REL, 0, 0.0, 1e-8);
        }

        public Options withMode(Mode newMode) {
            return new Options(newMode, factor, patience, threshold, thresholdMode, cooldown, minLr, eps);
        }

        public Options withFactor(double newFactor) {
            return new Options(mode, newFactor, patience, threshold, thresholdMode, cooldown, minLr, eps);
        }

        public Options withPatience(int newPatience) {
            return new Options(mode, factor, newPatience, threshold, thresholdMode, cooldown, minLr, eps);
        }

        public Options withThreshold(double newThreshold, ThresholdMode newThresholdMode) {
            return new Options(mode, factor, patience, newThreshold, newThresholdMode, cooldown, minLr, eps);
        }

        public Options withCooldown(int newCooldown) {
            return new Options(mode, factor, patience, threshold, thresholdMode, newCooldown, minLr, eps);
        }

        public Options withMinLr(double newMinLr) {
            return new Options(mode, factor, patience, threshold, thresholdMode, cooldown, newMinLr, eps);
        }

        public Options withEps(double newEps) {
            return new Options(mode, factor, patience, threshold, thresholdMode, cooldown, minLr, newEps);
        }
    }

    private final Options options;
    private double lr;
    private double best;
    private int numBadEpochs;
    private int cooldownCounter;
    private long lastEpoch;

    /**
     * A scheduler that starts at {@code initialLr} with no best value yet ({@code +inf} in min mode,
     * {@code -inf} in max mode).
     *
     * @throws IllegalArgumentException unless {@code initialLr} is finite and {@code > 0}
     */
    public ReduceLROnPlateau(double initialLr, Options options) {
        if (!(Double.isFinite(initialLr) && initialLr > 0)) {
            throw new IllegalArgumentException("initial lr must be finite and > 0, got " + initialLr);
        }
        this.options = Objects.requireNonNull(options, "options");
        this.lr = initialLr;
        this.best = options.mode() == Mode.MIN ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
    }

    /**
     * Records one epoch's metric and reduces the learning rate if the metric has plateaued. A NaN metric
     * is never an improvement.
     */
    public void step(double metric) {
        lastEpoch++;
        if (isBetter(metric, best)) {
            best = metric;
            numBadEpochs = 0;
        } else {
            numBadEpochs++;
        }
        if (inCooldown()) {
            cooldownCounter--;
            numBadEpochs = 0;
        }
        if (numBadEpochs > options.patience()) {
            reduceLr();
            cooldownCounter = options.cooldown();
            numBadEpochs = 0;
        }
    }

    private void reduceLr() {
        double reduced = Math.max(lr * options.factor(), options.minLr());
        if (lr - reduced > options.eps()) {
            lr = reduced;
        }
    }

    /**
     * PyTorch's {@code is_better}: in min mode {@code a < best * (1 - threshold)} (rel) or
     * {@code a < best - threshold} (abs); in max mode {@code a > best * (1 + threshold)} (rel) or
     * {@code a > best + threshold} (abs).
     */
    public boolean isBetter(double a, double best) {
        double threshold = options.threshold();
        boolean rel = options.thresholdMode() == ThresholdMode.REL;
        if (options.mode() == Mode.MIN) {
            return rel ? a < best * (1.0 - threshold) : a < best - threshold;
        }
        return rel ? a > best * (threshold + 1.0) : a > best + threshold;
    }

    /** The current learning rate. */
    public double lr() {
        return lr;
    }

    /** The best metric so far ({@code +inf} / {@code -inf} before the first improvement). */
    public double best() {
        return best;
    }

    /** Consecutive epochs without improvement that count towards {@code patience}. */
    public int numBadEpochs() {
        return numBadEpochs;
    }

    /** Epochs of cooldown left. */
    public int cooldownCounter() {
        return cooldownCounter;
    }

    /** True while a cooldown runs. */
    public boolean inCooldown() {
        return cooldownCounter > 0;
    }

    /** The number of {@link #step} calls so far. */
    public long lastEpoch() {
        return lastEpoch;
    }

    public Options options() {
        return options;
    }

    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("lr", lr);
        state.put("best", StateMaps.jsonDouble(best));
        state.put("num_bad_epochs", numBadEpochs);
        state.put("cooldown_counter", cooldownCounter);
        state.put("last_epoch", lastEpoch);
        return state;
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        double restoredLr = StateMaps.getDouble(state, "lr");
        double restoredBest = StateMaps.getDouble(state, "best");
        int restoredBad = StateMaps.getInt(state, "num_bad_epochs");
        int restoredCooldown = StateMaps.getInt(state, "cooldown_counter");
        long restoredEpoch = StateMaps.getLong(state, "last_epoch");
        if (!(Double.isFinite(restoredLr) && restoredLr >= 0)) {
            throw new IllegalArgumentException("state key 'lr' must be finite and >= 0, got " + restoredLr);
        }
        if (restoredBad < 0 || restoredCooldown < 0 || restoredEpoch < 0) {
            throw new IllegalArgumentException("state counters must be >= 0, got num_bad_epochs " + restoredBad
                    + ", cooldown_counter " + restoredCooldown + ", last_epoch " + restoredEpoch);
        }
        lr = restoredLr;
        best = restoredBest;
        numBadEpochs = restoredBad;
        cooldownCounter = restoredCooldown;
        lastEpoch = restoredEpoch;
    }
}
