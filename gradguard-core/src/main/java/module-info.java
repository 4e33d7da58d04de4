/**
 * gradguard's library: PyTorch-exact gradient clipping ({@link dev.gradguard.clip.ClipGrad}), a flat gradient
 * buffer, adaptive clipping policies, a guard that keeps non-finite numbers out of the weights, the guarded
 * training step ({@link dev.gradguard.train.Trainer}), checkpoints, metrics and TensorBoard event files,
 * mixed precision and data parallelism on libtorch through {@code org.bytedeco:pytorch}, and weights in
 * Hugging Face's safetensors format ({@link dev.gradguard.interop.SafeTensors}) that PyTorch loads.
 */
module dev.gradguard.core {
    requires transitive org.bytedeco.pytorch;
    requires com.fasterxml.jackson.databind;
    requires jdk.unsupported;
    requires java.management;
    requires jdk.management;

    exports dev.gradguard.amp;
    exports dev.gradguard.checkpoint;
    exports dev.gradguard.clip;
    exports dev.gradguard.control;
    exports dev.gradguard.data;
    exports dev.gradguard.dist;
    exports dev.gradguard.engine;
    exports dev.gradguard.guard;
    exports dev.gradguard.interop;
    exports dev.gradguard.io;
    exports dev.gradguard.metrics;
    exports dev.gradguard.metrics.tensorboard;
    exports dev.gradguard.model;
    exports dev.gradguard.optim;
    exports dev.gradguard.session;
    exports dev.gradguard.state;
    exports dev.gradguard.train;
}
