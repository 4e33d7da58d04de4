package dev.gradguard.data;

import org.bytedeco.pytorch.Tensor;

/** One mini-batch: the model's input and the target the loss compares its output with. */
public record Batch(Tensor input, Tensor target) {
}
