package dev.gradguard.train;

import java.util.Optional;

/**
 * How a call to {@link Trainer#run(long)} ended.
 *
 * @param steps the steps run in total, including skipped ones
 * @param finalLoss the mean loss of the last applied steps (up to {@link Trainer#FINAL_LOSS_WINDOW});
 *     NaN when no step was applied
 * @param skippedSteps steps whose update was not applied
 * @param clippedSteps steps whose gradients the pipeline changed
 * @param nonFiniteSteps steps with a non-finite loss, gradient or update
 * @param stopReason present when training stopped before the requested steps, saying why
 * @param wallSeconds wall time of the call
 */
public record TrainingOutcome(long steps, double finalLoss, long skippedSteps, long clippedSteps,
        long nonFiniteSteps, Optional<String> stopReason, double wallSeconds) {

    /** True when every requested step ran. */
    public boolean completed() {
        return stopReason.isEmpty();
    }
}
