package dev.gradguard.clip;

import org.bytedeco.pytorch.Tensor;

/**
 * What a transform knows about the step it runs in.
 *
 * @param step the 0-based training step
 * @param loss the step's training loss (mean over micro-batches)
 * @param gradNorm the 2-norm of all gradients as they stand before the transform, a 0-dim tensor on the
 *     gradients' device (kept as a tensor so that norm clipping can reuse it without a host sync)
 * @param gradNormValue the same norm as a host value, read once by the pipeline (transforms use it instead of
 *     reading {@code gradNorm} back again, which on a GPU would be one more sync with the device)
 * @param ops whole-set operations on the gradients (norms, scaling, clamping), over a flat gradient
 *     buffer when the trainer has one
 */
public record GradientContext(long step, double loss, Tensor gradNorm, double gradNormValue, GradientOps ops) {

    /** A context whose host value is read from {@code gradNorm} now (on a GPU, a sync with the device). */
    public GradientContext(long step, double loss, Tensor gradNorm, GradientOps ops) {
        this(step, loss, gradNorm, gradNorm.item_double(), ops);
    }
}
