package dev.gradguard.guard;

import dev.gradguard.state.StateMaps;
import dev.gradguard.state.Stateful;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Ends a run whose loss has run away while staying finite: when the loss stays above {@code factor} times the
 * run's first finite loss (the untrained model's) for {@code steps} steps in a row, the run stops as diverged.
 * Non-finite losses are the {@link NonFiniteGuard}'s business: they neither count towards the run of steps
 * above the level nor break it.
 *
 * <p>The level is relative to where the run started, not to its best loss: a loss that falls towards zero
 * (a task being solved) makes any multiple of its best value meaningless, and a spike on a nearly solved task
 * is no divergence. The consecutive-steps rule lets a noisy run or a single spike through: one step back
 * below the level starts the count again. This is the early stop of learning-rate finders (fastai's
 * {@code LRFinder} and PyTorch Lightning's {@code lr_find} stop when the smoothed loss exceeds 4 times the best
 * one), made patient and anchored at the first loss for whole training runs; PyTorch Lightning's
 * {@code EarlyStopping(divergence_threshold=...)} stops at the first step over an absolute level.
 *
 * <p>The state (the first loss and the count) is saved with the trainer's, so a resumed run keeps its level.
 * Not thread-safe: the training thread calls it.
 */
public final class DivergenceStop implements Stateful {
    private final double factor;
    private final int steps;
    private double firstLoss = Double.NaN;
    private int consecutive;

    private DivergenceStop(double factor, int steps) {
        this.factor = factor;
        this.steps = steps;
    }

    /**
     * Stops when the loss stays above {@code factor} times the first finite loss for {@code steps} steps in a row.
     *
     * @param factor the multiple of the first loss, finite and greater than 1
     * @param steps how many steps in a row, at least 1
     * @throws IllegalArgumentException when either is out of range
     */
    public static DivergenceStop of(double factor, int steps) {
        if (!(factor > 1) || !Double.isFinite(factor)) {
            throw new IllegalArgumentException("divergence factor must be a finite number > 1, got " + factor);
        }
        if (steps < 1) {
            throw new IllegalArgumentException("divergence steps must be at least 1, got " + steps);
        }
        return new DivergenceStop(factor, steps);
    }

    /** Never stops. */
    public static DivergenceStop off() {
        return new DivergenceStop(Double.POSITIVE_INFINITY, Integer.MAX_VALUE);
    }

    /** Whether this ever stops a run. */
    public boolean enabled() {
        return Double.isFinite(factor);
    }

    /**
     * Looks at one step's loss.
     *
     * @param step the 0-based step
     * @param loss the step's loss (a non-finite one is ignored)
     * @return the reason to stop, at the {@code steps}-th step in a row above the level; else empty
     */
    public Optional<String> observe(long step, double loss) {
        if (!enabled() || !Double.isFinite(loss)) {
            return Optional.empty();
        }
        if (Double.isNaN(firstLoss)) {
            firstLoss = loss;
            return Optional.empty();
        }
        consecutive = loss > factor * firstLoss ? consecutive + 1 : 0;
        if (consecutive < steps) {
            return Optional.empty();
        }
        return Optional.of(String.format(Locale.ROOT, "diverged: the loss stayed above %s times the first step's (%.4g)"
                + " for %d steps in a row (%.4g at step %d); stopping. Lower the learning rate or clip harder",
                plain(factor), firstLoss, consecutive, loss, step));
    }

    /** The multiple of the first loss; infinite when off. */
    public double factor() {
        return factor;
    }

    /** The steps in a row above the level that stop a run; {@link Integer#MAX_VALUE} when off. */
    public int steps() {
        return steps;
    }

    private static String plain(double x) {
        return x == Math.rint(x) ? Long.toString((long) x) : Double.toString(x);
    }

    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("first_loss", firstLoss);
        state.put("consecutive", consecutive);
        return state;
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        firstLoss = StateMaps.getDouble(state, "first_loss");
        consecutive = StateMaps.getInt(state, "consecutive");
    }
}
