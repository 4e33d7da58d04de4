package dev.gradguard.optim;

import dev.gradguard.state.StateMaps;
import java.util.Map;

/**
 * Typed factories for every {@link LrSchedule}. Each schedule's class documents its formula and the PyTorch
 * scheduler it matches. Every factory throws {@link IllegalArgumentException} naming the parameter that is out of
 * range.
 */
public final class Schedules {

    /** {@link #plateau(double)}'s defaults: PyTorch's patience and factor, and one metric every 100 updates. */
    public static final int DEFAULT_PLATEAU_PATIENCE = 10;
    public static final double DEFAULT_PLATEAU_FACTOR = 0.1;
    public static final long DEFAULT_PLATEAU_INTERVAL = 100;

    private Schedules() {
    }

    /** The learning rate {@code lr} at every step ({@code torch.optim.lr_scheduler.ConstantLR} with factor 1). */
    public static LrSchedule constant(double lr) {
        return new ConstantSchedule(checkLr(lr));
    }

    /**
     * A linear warm-up over the first {@code steps} updates, then constant: update {@code k} uses
     * {@code lr * min(1, (k + 1) / steps)}.
     *
     * @param steps {@code >= 1}
     */
    public static LrSchedule warmup(double lr, long steps) {
        return new WarmupSchedule(checkLr(lr), steps);
    }

    /**
     * Cosine annealing from {@code lr} to 0 over {@code totalSteps} updates, after {@code warmup} updates of linear
     * warm-up ({@code CosineAnnealingLR}).
     *
     * @param totalSteps the number of updates in the run, greater than {@code warmup}
     * @param warmup {@code >= 0}
     */
    public static LrSchedule cosine(double lr, long totalSteps, long warmup) {
        return new CosineSchedule(checkLr(lr), totalSteps, warmup);
    }

    /**
     * {@code lr} times {@code gamma} every {@code size} updates ({@code StepLR}).
     *
     * @param size {@code >= 1}
     * @param gamma finite and {@code > 0}
     */
    public static LrSchedule stepDecay(double lr, long size, double gamma) {
        return new StepDecaySchedule(checkLr(lr), size, gamma);
    }

    /**
     * {@code ReduceLROnPlateau} on the mean training loss of every {@code interval} updates: {@code lr} times
     * {@code factor} after {@code patience} intervals without improvement.
     *
     * @param patience {@code >= 0}
     * @param factor in {@code [0, 1)}
     * @param interval {@code >= 1}
     */
    public static LrSchedule plateau(double lr, int patience, double factor, long interval) {
        return new PlateauSchedule(checkLr(lr), patience, factor, interval);
    }

    /** {@link #plateau(double, int, double, long)} with its defaults: patience 10, factor 0.1, interval 100. */
    public static LrSchedule plateau(double lr) {
        return plateau(lr, DEFAULT_PLATEAU_PATIENCE, DEFAULT_PLATEAU_FACTOR, DEFAULT_PLATEAU_INTERVAL);
    }

    private static double checkLr(double lr) {
        if (!(Double.isFinite(lr) && lr > 0)) {
            throw new IllegalArgumentException("lr must be finite and > 0, got " + lr);
        }
        return lr;
    }

    /**
     * Checks that a saved schedule state belongs to a schedule of the same kind and shape: restoring the step
     * count of one schedule into another would silently change the learning rate.
     */
    static void requireSame(String name, Map<String, Object> shape, Map<String, Object> state) {
        Object savedName = state.get("schedule");
        Object savedShape = state.get("shape");
        if (!name.equals(savedName) || !StateMaps.sameJson(shape, savedShape)) {
            throw new IllegalArgumentException("the saved schedule is " + (savedName == null ? "missing"
                    : savedName + " " + savedShape) + " but this one is " + name + " " + shape);
        }
    }
}
