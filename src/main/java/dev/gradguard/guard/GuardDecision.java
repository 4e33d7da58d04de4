package dev.gradguard.guard;

import java.util.Optional;

/**
 * Whether one step's update may reach the weights.
 *
 * @param applyUpdate true when the optimizer may step
 * @param nonFinite true when the loss or the gradients held NaN or an infinity
 * @param skipReason present exactly when {@code applyUpdate} is false, saying why
 * @param stopReason present when the guard gives up on the run after this step, saying why
 */
public record GuardDecision(boolean applyUpdate, boolean nonFinite, Optional<String> skipReason,
        Optional<String> stopReason) {

    static GuardDecision apply() {
        return new GuardDecision(true, false, Optional.empty(), Optional.empty());
    }

    static GuardDecision skip(boolean nonFinite, String reason) {
        return new GuardDecision(false, nonFinite, Optional.of(reason), Optional.empty());
    }

    static GuardDecision stop(String reason, String stopReason) {
        return new GuardDecision(false, true, Optional.of(reason), Optional.of(stopReason));
    }
}
