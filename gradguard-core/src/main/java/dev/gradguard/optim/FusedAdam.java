package dev.gradguard.optim;

import dev.gradguard.libtorch.Operators;
import dev.gradguard.model.Parameters;
import java.util.BitSet;
import java.util.List;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Adam (Kingma and Ba, 2015) and AdamW (Loshchilov and Hutter, 2019) with PyTorch's semantics
 * ({@code torch.optim.Adam}, {@code AdamW}, without AMSGrad): per parameter, {@code step += 1};
 * {@code m = beta1 * m + (1 - beta1) * g}; {@code v = beta2 * v + (1 - beta2) * g^2};
 * {@code p = p - lr * (m / (1 - beta1^step)) / (sqrt(v / (1 - beta2^step)) + eps)}, where Adam adds
 * {@code weight_decay * p} to {@code g} and AdamW first multiplies {@code p} by {@code 1 - lr * weight_decay}.
 * One {@code _foreach_add_} counts the steps and one {@code _fused_adam_} or {@code _fused_adamw_} call updates
 * every included parameter, as PyTorch's {@code fused=True} does.
 */
final class FusedAdam extends FusedOptimizer {
    private static final OperatorHandle ADD = Operators.find("aten::_foreach_add_", "Scalar");
    private static final OperatorHandle ADAM = Operators.find("aten::_fused_adam_", "");
    private static final OperatorHandle ADAMW = Operators.find("aten::_fused_adamw_", "");

    private final boolean decoupled;

    FusedAdam(OptimizerSpec spec, Parameters parameters) {
        super(spec, parameters, List.of("step", "exp_avg", "exp_avg_sq"));
        this.decoupled = spec.name().equals("adamw");
    }

    /** Moments of zeros; the step count a float32 scalar, the type PyTorch's fused kernels read. */
    @Override
    Tensor newState(String slot, Tensor parameter) {
        return slot.equals("step")
                ? torch.zeros(new long[0], new TensorOptions(torch.ScalarType.Float).device(new DeviceOptional(parameter.device())))
                : torch.zeros_like(parameter);
    }

    @Override
    void update(double lr, BitSet included, BitSet started) {
        IValue[] lists = lists(included);
        ADD.callBoxed(new IValueVector(lists[1], new IValue(new Scalar(1.0))));
        OptimizerSpec s = spec();
        (decoupled ? ADAMW : ADAM).callBoxed(new IValueVector(lists[0], grads(included), lists[2], lists[3],
                Operators.tensorList(List.of()), lists[1], new IValue(lr), new IValue(s.beta1()),
                new IValue(s.beta2()), new IValue(s.weightDecay()), new IValue(s.eps()), new IValue(false),
                new IValue(false), new IValue(), new IValue()));
    }

    @Override
    String libtorchKind() {
        return decoupled ? "AdamW" : "Adam";
    }

    @Override
    void saveOptions(OutputArchive options) {
        OptimizerSpec s = spec();
        options.write("beta1", new IValue(s.beta1()));
        options.write("beta2", new IValue(s.beta2()));
        options.write("eps", new IValue(s.eps()));
        options.write("weight_decay", new IValue(s.weightDecay()));
        options.write("amsgrad", new IValue(false));
    }
}
