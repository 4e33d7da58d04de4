package dev.gradguard.model;

import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * A network the trainer can drive: a libtorch {@link Module} holding the parameters, and the forward
 * pass written in Java (libtorch cannot call a Java {@code forward} through {@code Sequential}, so the
 * model composes its layers itself).
 */
public interface Model {

    /** The module that owns the parameters, in the order {@code named_parameters()} lists them. */
    Module module();

    /** The forward pass. */
    Tensor forward(Tensor input);
}
