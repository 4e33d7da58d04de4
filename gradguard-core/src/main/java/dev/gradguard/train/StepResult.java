package dev.gradguard.train;

import dev.gradguard.control.ControlDecision;
import dev.gradguard.guard.LayerAttribution;
import dev.gradguard.guard.Skip;
import dev.gradguard.guard.SkipReason;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * What happened in one training step; one line of {@code metrics.jsonl}. Immutable.
 *
 * @param step the 0-based step
 * @param loss the training loss (mean over micro-batches)
 * @param lr the learning rate of this step's update (the one it would have had, when skipped)
 * @param gradients the gradient norms and what clipping did
 * @param skip present when the update did not reach the weights, saying why
 * @param stopReason present when the guard stops the run after this step
 * @param diagnostics what was found or changed on the side: layer attribution, controller changes, loss scale
 * @param timeMs the step's wall time in milliseconds
 */
public record StepResult(long step, double loss, double lr, Gradients gradients, Optional<Skip> skip,
        Optional<String> stopReason, Diagnostics diagnostics, double timeMs) {

    public StepResult {
        Objects.requireNonNull(gradients, "gradients");
        Objects.requireNonNull(skip, "skip");
        Objects.requireNonNull(stopReason, "stopReason");
        Objects.requireNonNull(diagnostics, "diagnostics");
    }

    /**
     * The gradients of the step.
     *
     * @param norm the 2-norm before clipping
     * @param clippedNorm the 2-norm after the gradient pipeline
     * @param clipped true when the pipeline changed the gradients
     * @param clipCoef {@code clippedNorm / norm} (1 when unchanged)
     */
    public record Gradients(double norm, double clippedNorm, boolean clipped, double clipCoef) {
    }

    /**
     * What the step found or changed besides the update.
     *
     * @param attribution which layers the trouble came from, on non-finite, skipped or hard-clipped steps
     * @param control what the controller changed after this step (usually nothing)
     * @param lossScale with fp16 loss scaling, the scale this step's loss was multiplied by before backward;
     *     empty otherwise
     */
    public record Diagnostics(Optional<LayerAttribution> attribution, List<ControlDecision> control,
            OptionalDouble lossScale) {
        public Diagnostics {
            Objects.requireNonNull(attribution, "attribution");
            control = List.copyOf(control);
            Objects.requireNonNull(lossScale, "lossScale");
        }

        /** Nothing found, nothing changed, no loss scaling. */
        public static Diagnostics none() {
            return new Diagnostics(Optional.empty(), List.of(), OptionalDouble.empty());
        }
    }

    /** True when the update did not reach the weights. */
    public boolean skipped() {
        return skip.isPresent();
    }

    /** Why the update was skipped, when it was. */
    public Optional<SkipReason> skipReason() {
        return skip.map(Skip::reason);
    }

    /** True when the step was skipped for a non-finite loss, gradient or update. */
    public boolean nonFinite() {
        return skip.map(s -> s.reason().nonFinite()).orElse(false);
    }
}
