package dev.gradguard.guard;

import java.util.Objects;

/**
 * A skipped update: why, and the detail for a human.
 *
 * @param reason why the update was skipped
 * @param detail one line, e.g. {@code loss is NaN} or {@code fp16 gradient overflow: loss scale lowered to 32768}
 */
public record Skip(SkipReason reason, String detail) {
    public Skip {
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(detail, "detail");
    }
}
