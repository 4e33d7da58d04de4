package dev.gradguard.guard;

import dev.gradguard.clip.PipelineReport;
import dev.gradguard.state.StateMaps;
import dev.gradguard.state.Stateful;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * Never lets a NaN or an infinity reach the weights: a step whose loss, pre-clip or post-clip gradient
 * norm is not finite is skipped (the optimizer does not step, so weights and optimizer state stay
 * bit-identical), counted, and reported; so is a step whose update turned out not finite
 * ({@link #afterUpdate}, after the trainer undid it). At the {@code maxConsecutive}-th non-finite step in a row the
 * decision says to stop the run. A transform's request to skip (a spike guard) is honoured
 * too, and counted as skipped but not as non-finite.
 *
 * <p>With fp16 loss scaling, an inf or NaN in the scaled gradients while the loss is finite is the scaler's
 * business, not divergence: PyTorch's {@code GradScaler} expects the first steps to overflow while the scale
 * calibrates. Such a step is skipped and counted as skipped, but neither counted as non-finite nor as part of
 * a run of non-finite steps (the run in progress is neither extended nor broken). A non-finite loss is
 * non-finite whatever the scale.
 *
 * <p>This is Optax's {@code apply_if_finite} with its {@code max_consecutive_errors}, applied in front of
 * the optimizer.
 */
public final class NonFiniteGuard implements Stateful {
    /** The default number of consecutive non-finite steps tolerated. */
    public static final int DEFAULT_MAX_CONSECUTIVE = 20;

    private final int maxConsecutive;
    private long skippedSteps;
    private long nonFiniteSteps;
    private int consecutiveNonFinite;

    /** @param maxConsecutive how many non-finite steps in a row end the run, at least 1 */
    public NonFiniteGuard(int maxConsecutive) {
        if (maxConsecutive < 1) {
            throw new IllegalArgumentException("max consecutive non-finite steps must be at least 1, got " + maxConsecutive);
        }
        this.maxConsecutive = maxConsecutive;
    }

    /**
     * Decides whether the step's update may be applied.
     *
     * @param step the 0-based step
     * @param loss the step's loss
     * @param clip what the gradient pipeline measured and did
     * @return apply (then report the optimizer step's outcome to {@link #afterUpdate}), skip, or (at the
     *     {@code maxConsecutive}-th non-finite step in a row) skip and stop
     */
    public GuardDecision decide(long step, double loss, PipelineReport clip) {
        return decide(step, loss, clip, OptionalDouble.empty());
    }

    /**
     * Decides whether the step's update may be applied, in fp16 training with loss scaling.
     *
     * @param loweredLossScale present when the loss scaler found an inf or NaN in this step's scaled gradients,
     *     holding the scale it lowers the loss scale to (for the skip reason)
     * @return as {@link #decide(long, double, PipelineReport)}, or, for an overflow with a finite loss, a skip
     *     with reason {@link SkipReason#FP16_OVERFLOW}
     */
    public GuardDecision decide(long step, double loss, PipelineReport clip, OptionalDouble loweredLossScale) {
        if (loweredLossScale.isPresent() && Double.isFinite(loss)) {
            skippedSteps++;
            return GuardDecision.skip(SkipReason.FP16_OVERFLOW, "fp16 gradient overflow: loss scale lowered to "
                    + new BigDecimal(loweredLossScale.getAsDouble()).stripTrailingZeros().toPlainString());
        }
        if (!Double.isFinite(loss)) {
            return nonFinite(step, SkipReason.NON_FINITE_LOSS, "loss is " + loss);
        }
        if (!Double.isFinite(clip.preClipNorm())) {
            return nonFinite(step, SkipReason.NON_FINITE_GRADIENT, "gradient norm is " + clip.preClipNorm());
        }
        if (!Double.isFinite(clip.postClipNorm())) {
            return nonFinite(step, SkipReason.NON_FINITE_GRADIENT, "clipped gradient norm is " + clip.postClipNorm());
        }
        if (clip.skipReason().isPresent()) {
            consecutiveNonFinite = 0;
            skippedSteps++;
            return GuardDecision.skip(SkipReason.SPIKE, clip.skipReason().get());
        }
        return GuardDecision.apply();
    }

    /**
     * Records how an update that {@link #decide} allowed went: the optimizer stepped and left finite weights
     * (which ends a run of non-finite steps), or it would have put NaN or an infinity into them and was undone
     * (a non-finite step with reason {@link SkipReason#UPDATE}, counted like a non-finite gradient).
     *
     * @param step the 0-based step
     * @param nonFiniteUpdate empty when the update was applied; else what was not finite
     * @return apply, or a skip (at the {@code maxConsecutive}-th non-finite step in a row, skip and stop)
     */
    public GuardDecision afterUpdate(long step, Optional<String> nonFiniteUpdate) {
        if (nonFiniteUpdate.isEmpty()) {
            consecutiveNonFinite = 0;
            return GuardDecision.apply();
        }
        return nonFinite(step, SkipReason.UPDATE, nonFiniteUpdate.get());
    }

    /**
     * Records that another data-parallel rank skipped a step this rank would have applied: counted as skipped;
     * a run of non-finite steps is neither extended nor broken.
     *
     * @return the skip, with reason {@link SkipReason#PEER_SKIPPED}
     */
    public GuardDecision peerSkipped() {
        skippedSteps++;
        return GuardDecision.skip(SkipReason.PEER_SKIPPED, "another data-parallel rank skipped this step");
    }

    private GuardDecision nonFinite(long step, SkipReason reason, String detail) {
        skippedSteps++;
        nonFiniteSteps++;
        consecutiveNonFinite++;
        if (consecutiveNonFinite >= maxConsecutive) {
            return GuardDecision.stop(reason, detail, consecutiveNonFinite
                    + " consecutive steps had a non-finite loss, gradient or update (last at step " + step + ": "
                    + detail + "); stopping. Lower the learning rate, clip harder, or allow more "
                    + "non-finite steps in a row");
        }
        return GuardDecision.skip(reason, detail);
    }

    /** Steps whose update was not applied, for any reason. */
    public long skippedSteps() {
        return skippedSteps;
    }

    /** Steps skipped because the loss, gradients or update were not finite. */
    public long nonFiniteSteps() {
        return nonFiniteSteps;
    }

    /** Non-finite steps in a row up to now. */
    public int consecutiveNonFinite() {
        return consecutiveNonFinite;
    }

    public int maxConsecutive() {
        return maxConsecutive;
    }

    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("skipped_steps", skippedSteps);
        state.put("nonfinite_steps", nonFiniteSteps);
        state.put("consecutive_nonfinite", consecutiveNonFinite);
        return state;
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        skippedSteps = StateMaps.getLong(state, "skipped_steps");
        nonFiniteSteps = StateMaps.getLong(state, "nonfinite_steps");
        consecutiveNonFinite = StateMaps.getInt(state, "consecutive_nonfinite");
    }
}
