package dev.gradguard.guard;

import dev.gradguard.state.StateMaps;
import dev.gradguard.state.Stateful;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Ends a run whose loss has run away while staying finite: a count goes up by one at each step whose loss is above
 * {@code factor} times the run's first finite loss (the untrained model's) and down by one, never below zero, at
 * each step whose loss is not; when it reaches {@code steps}, the run stops as diverged. So {@code steps} steps
 * in a row above the level stop a run, and so does a loss that swings around the level while staying above it
 * most of the time (a runaway that dips back now and then, which a count of steps in a row never stops).
 * Non-finite losses are the {@link NonFiniteGuard}'s business: they neither count up nor down.
 *
 * <p>The level is relative to where the run started, not to its best loss: a loss that falls towards zero
 * (a task being solved) makes any multiple of its best value meaningless, and a spike on a nearly solved task
 * is no divergence. The count lets a noisy run or a single spike through: a stretch above the level is paid back
 * step for step below it. This is the early stop of learning-rate finders (fastai's
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
    /** Steps above the level minus steps below it, never below zero since the first loss. */
    private int count;

    private DivergenceStop(double factor, int steps) {
        this.factor = factor;
        this.steps = steps;
    }

    /**
     * Stops when the steps above {@code factor} times the first finite loss outnumber those below it by
     * {@code steps} (see the class comment); {@code steps} steps in a row above it are the quickest way there.
     *
     * @param factor the multiple of the first loss, finite and greater than 1
     * @param steps how many more steps above the level than below it, at least 1
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
     * @return the reason to stop, when the count reaches {@code steps}; else empty
     */
    public Optional<String> observe(long step, double loss) {
        if (!enabled() || !Double.isFinite(loss)) {
            return Optional.empty();
        }
        if (Double.isNaN(firstLoss)) {
            firstLoss = loss;
            return Optional.empty();
        }
        count = loss > factor * firstLoss ? count + 1 : Math.max(0, count - 1);
        if (count < steps) {
            return Optional.empty();
        }
        return Optional.of(String.format(Locale.ROOT, "diverged: the loss stayed above %s times the first step's (%.4g)"
                + ", on %d more steps than it was below (%.4g at step %d); stopping. Lower the learning rate or clip"
                + " harder", plain(factor), firstLoss, count, loss, step));
    }

    /** The multiple of the first loss; infinite when off. */
    public double factor() {
        return factor;
    }

    /** How many more steps above the level than below it stop a run; {@link Integer#MAX_VALUE} when off. */
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
        state.put("count", count);
        return state;
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        firstLoss = StateMaps.getDouble(state, "first_loss");
        // an earlier version saved its count of steps in a row, which is a count of this kind too
        count = StateMaps.getInt(state, state.containsKey("count") ? "count" : "consecutive");
    }
}
