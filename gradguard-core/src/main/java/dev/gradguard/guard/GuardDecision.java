package dev.gradguard.guard;

import java.util.Optional;

/**
 * Whether one step's update may reach the weights.
 *
 * @param skip present when the update must not be applied, saying why
 * @param stopReason present when the guard gives up on the run after this step, saying why (always with a
 *     skip)
 */
public record GuardDecision(Optional<Skip> skip, Optional<String> stopReason) {

    /** The update may be applied. */
    public static GuardDecision apply() {
        return new GuardDecision(Optional.empty(), Optional.empty());
    }

    /** The update is skipped for {@code reason}. */
    public static GuardDecision skip(SkipReason reason, String detail) {
        return new GuardDecision(Optional.of(new Skip(reason, detail)), Optional.empty());
    }

    static GuardDecision stop(SkipReason reason, String detail, String stopReason) {
        return new GuardDecision(Optional.of(new Skip(reason, detail)), Optional.of(stopReason));
    }

    /** True when the optimizer may step. */
    public boolean applyUpdate() {
        return skip.isEmpty();
    }

    /** True when the step was skipped for a non-finite loss, gradient or update. */
    public boolean nonFinite() {
        return skip.map(s -> s.reason().nonFinite()).orElse(false);
    }
}
