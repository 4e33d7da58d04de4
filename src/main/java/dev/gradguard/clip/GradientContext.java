package dev.gradguard.clip;

import org.bytedeco.pytorch.Tensor;

/**
 * What a transform knows about the step it runs in.
 *
 * @param step the 0-based training step
 * @param loss the step's training loss (mean over micro-batches)
 * @param gradNorm the 2-norm of all gradients as they stand before the transform, a 0-dim tensor on the
 *     gradients' device (kept as a tensor so that norm clipping can reuse it without a host sync)
 * @param ops whole-set operations on the gradients (norms, scaling, clamping), over a flat gradient
 *     buffer when the trainer has one
 */
public record GradientContext(long step, double loss, Tensor gradNorm, GradientOps ops) {

    /** The norm as a host value. On a GPU this synchronizes with the device. */
    public double gradNormValue() {
        return gradNorm.item_double();
    }
}
