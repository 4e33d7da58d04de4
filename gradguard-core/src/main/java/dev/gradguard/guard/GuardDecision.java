package dev.gradguard.guard;

import java.util.Optional;

/**
 * Whether one step's update may reach the weights.
 *
 * @param applyUpdate true when the optimizer may step
 * @param nonFinite true when the loss or the gradients held NaN or an infinity (not counting an fp16 loss-scale
 *     overflow)
 * @param lossScaleOverflow true when fp16 loss scaling overflowed: the scaled gradients held an inf or NaN
 *     while the loss was finite, so the step is skipped and the loss scale lowered; routine while the scale
 *     calibrates, and never counted as non-finite
 * @param skipReason present exactly when {@code applyUpdate} is false, saying why
 * @param stopReason present when the guard gives up on the run after this step, saying why
 */
public record GuardDecision(boolean applyUpdate, boolean nonFinite, boolean lossScaleOverflow,
        Optional<String> skipReason, Optional<String> stopReason) {

    static GuardDecision apply() {
        return new GuardDecision(true, false, false, Optional.empty(), Optional.empty());
    }

    static GuardDecision skip(boolean nonFinite, String reason) {
        return new GuardDecision(false, nonFinite, false, Optional.of(reason), Optional.empty());
    }

    static GuardDecision lossScaleOverflow(String reason) {
        return new GuardDecision(false, false, true, Optional.of(reason), Optional.empty());
    }

    static GuardDecision stop(String reason, String stopReason) {
        return new GuardDecision(false, true, false, Optional.of(reason), Optional.of(stopReason));
    }
}
