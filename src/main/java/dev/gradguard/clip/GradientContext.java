package dev.gradguard.clip;

/**
 * What a transform knows about the step it runs in.
 *
 * @param step the 0-based training step
 * @param loss the step's training loss (mean over micro-batches)
 * @param gradNorm the 2-norm of all gradients as they stand before the transform
 */
public record GradientContext(long step, double loss, double gradNorm) {

    /** The same step with the gradients' norm after a previous transform changed them. */
    public GradientContext withGradNorm(double norm) {
        return new GradientContext(step, loss, norm);
    }
}
