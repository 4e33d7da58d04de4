package dev.gradguard.train;

import org.bytedeco.pytorch.Tensor;

/** The training loss of a model's output against the batch's target, a 0-dim tensor. */
@FunctionalInterface
public interface LossFunction {
    Tensor loss(Tensor output, Tensor target);
}
