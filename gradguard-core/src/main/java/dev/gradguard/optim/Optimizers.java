package dev.gradguard.optim;

import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OptimizerParamGroupVector;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;

/**
 * Builds optimizers from an {@link OptimizerSpec}: gradguard's own ({@link #create}, what a trainer should use)
 * or libtorch's ({@link #libtorch}); reads or sets a libtorch optimizer's learning rate.
 *
 * <p>An optimizer keeps per-parameter state (momentum buffers, Adam's moments) across steps: create it
 * outside any per-step {@code PointerScope}.
 */
public final class Optimizers {
    private Optimizers() {
    }

    /**
     * gradguard's SGD, Adam or AdamW over {@code parameters}, configured as {@code spec} says (see
     * {@link FusedOptimizer}): PyTorch's semantics, its fused kernels, and an update check that copies no archive.
     *
     * @throws IllegalArgumentException when the parameters are not all floating point on one device with one
     *     dtype
     */
    public static FusedOptimizer create(OptimizerSpec spec, Parameters parameters) {
        Torch.load();
        return spec.name().equals("sgd") ? new FusedSgd(spec, parameters) : new FusedAdam(spec, parameters);
    }

    /**
     * libtorch's {@code SGD}, {@code Adam} or {@code AdamW} over {@code parameters}, in one parameter group,
     * configured as {@code spec} says (Adam and AdamW without AMSGrad). A trainer steps it through
     * {@link LibtorchOptimizer}.
     */
    public static Optimizer libtorch(OptimizerSpec spec, Parameters parameters) {
        Torch.load();
        return switch (spec.name()) {
            case "sgd" -> {
                SGDOptions o = new SGDOptions(spec.lr());
                o.momentum().put(spec.momentum());
                o.dampening().put(spec.dampening());
                o.nesterov().put(spec.nesterov());
                o.weight_decay().put(spec.weightDecay());
                yield new SGD(parameters.toVector(), o);
            }
            case "adam" -> {
                AdamOptions o = new AdamOptions(spec.lr());
                putBetas(o.betas(), spec.beta1(), spec.beta2());
                o.eps().put(spec.eps());
                o.weight_decay().put(spec.weightDecay());
                o.amsgrad().put(false);
                yield new Adam(parameters.toVector(), o);
            }
            case "adamw" -> {
                AdamWOptions o = new AdamWOptions(spec.lr());
                putBetas(o.betas(), spec.beta1(), spec.beta2());
                o.eps().put(spec.eps());
                o.weight_decay().put(spec.weightDecay());
                o.amsgrad().put(false);
                yield new AdamW(parameters.toVector(), o);
            }
            default -> throw new IllegalStateException("OptimizerSpec admitted unknown name " + spec.name());
        };
    }

    /**
     * Sets the learning rate of every parameter group of {@code optimizer}; the next {@code step()} uses it.
     *
     * <p>Zero is allowed, as in PyTorch: a schedule may end at 0 (cosine annealing, a plateau factor of 0).
     *
     * @throws IllegalArgumentException unless {@code lr} is finite and {@code >= 0}
     */
    public static void setLr(Optimizer optimizer, double lr) {
        if (!(Double.isFinite(lr) && lr >= 0)) {
            throw new IllegalArgumentException("lr must be finite and >= 0, got " + lr);
        }
        OptimizerParamGroupVector groups = optimizer.param_groups();
        for (long i = 0; i < groups.size(); i++) {
            groups.get(i).options().set_lr(lr);
        }
    }

    /**
     * The learning rate of the first parameter group ({@link #setLr} keeps all groups equal).
     *
     * @throws IllegalArgumentException if the optimizer has no parameter group
     */
    public static double lr(Optimizer optimizer) {
        OptimizerParamGroupVector groups = optimizer.param_groups();
        if (groups.size() == 0) {
            throw new IllegalArgumentException("optimizer has no parameter group");
        }
        return groups.get(0).options().get_lr();
    }

    /** The first line of an exception's message, for a one-line report. */
    static String firstLine(RuntimeException e) {
        String message = String.valueOf(e.getMessage()).strip();
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    /**
     * Writes Adam's {@code std::tuple<double, double> betas} through the raw pointer JavaCPP hands out.
     * The order of a tuple's elements in memory is the C++ library's choice: libstdc++ stores the last
     * element first ({@code new AdamOptions().betas()} reads back {@code [0.999, 0.9]} on Linux), libc++
     * the first. The defaults, (0.9, 0.999), tell which slot holds beta1.
     */
    private static void putBetas(DoublePointer betas, double beta1, double beta2) {
        int beta1Slot;
        try (AdamOptions defaults = new AdamOptions()) {
            beta1Slot = defaults.betas().get(0) == 0.9 ? 0 : 1;
        }
        betas.put(beta1Slot, beta1).put(1 - beta1Slot, beta2);
    }
}
