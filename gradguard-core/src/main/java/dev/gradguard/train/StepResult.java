package dev.gradguard.train;

import dev.gradguard.control.ControlDecision;
import dev.gradguard.guard.LayerAttribution;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * What happened in one training step; one line of {@code metrics.jsonl}.
 *
 * @param step the 0-based step
 * @param loss the training loss (mean over micro-batches)
 * @param gradNorm the gradients' 2-norm before clipping
 * @param gradNormClipped the gradients' 2-norm after the gradient pipeline
 * @param clipped true when the pipeline changed the gradients
 * @param clipCoef {@code gradNormClipped / gradNorm} (1 when unchanged)
 * @param lr the learning rate of this step's update
 * @param skipped true when the update was not applied
 * @param nonFinite true when the loss or gradients held NaN or an infinity (not counting an fp16 loss-scale
 *     overflow)
 * @param lossScaleOverflow true when fp16 loss scaling overflowed: skipped, the loss scale lowered, and not
 *     counted as non-finite
 * @param skipReason why the update was skipped, when it was
 * @param stopReason present when the guard stops the run after this step
 * @param attribution which layers the trouble came from, on non-finite, skipped or hard-clipped steps
 * @param control what the controller changed after this step (usually nothing)
 * @param lossScale with fp16 loss scaling, the scale this step's loss was multiplied by before backward;
 *     empty otherwise
 * @param timeMs the step's wall time in milliseconds
 */
public record StepResult(long step, double loss, double gradNorm, double gradNormClipped, boolean clipped,
        double clipCoef, double lr, boolean skipped, boolean nonFinite, boolean lossScaleOverflow,
        Optional<String> skipReason, Optional<String> stopReason, Optional<LayerAttribution> attribution,
        List<ControlDecision> control, OptionalDouble lossScale, double timeMs) {

    public StepResult {
        control = List.copyOf(control);
    }
}
