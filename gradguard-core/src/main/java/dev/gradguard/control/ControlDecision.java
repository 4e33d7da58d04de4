package dev.gradguard.control;

import java.util.Objects;

/**
 * One change a {@link Controller} made, for the log.
 *
 * @param step the step whose observation caused it; the change applies from the next step on
 * @param kind what changed
 * @param oldValue the value before: the LR scale for {@link Kind#LOWER_LR}, the clipping threshold for
 *     {@link Kind#RELAX_THRESHOLD}
 * @param newValue the value after
 * @param reason why, in one line
 */
public record ControlDecision(long step, Kind kind, double oldValue, double newValue, String reason) {

    /** What a decision changed. */
    public enum Kind {
        /** The learning-rate scale was multiplied down. */
        LOWER_LR,
        /** The clipping threshold was raised. */
        RELAX_THRESHOLD
    }

    public ControlDecision {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(reason, "reason");
    }
}
