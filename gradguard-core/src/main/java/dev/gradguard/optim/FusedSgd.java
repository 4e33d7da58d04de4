package dev.gradguard.optim;

import dev.gradguard.libtorch.Operators;
import dev.gradguard.model.Parameters;
import java.util.BitSet;
import java.util.List;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * SGD with PyTorch's semantics ({@code torch.optim.SGD}): {@code g = grad + weight_decay * p}; with momentum,
 * {@code buf = g} at a parameter's first update and {@code buf = momentum * buf + (1 - dampening) * g} after,
 * then {@code g = g + momentum * buf} (Nesterov) or {@code g = buf}; {@code p = p - lr * g}. PyTorch's kernel
 * {@code _fused_sgd_} computes it; parameters updated for the first time and the others go to two calls, as
 * its {@code is_first_step} applies to a whole call (PyTorch's own fused SGD cannot step a parameter that first
 * gets a gradient after the first step; its default implementation can, and this matches it).
 */
final class FusedSgd extends FusedOptimizer {
    private static final OperatorHandle SGD = Operators.find("aten::_fused_sgd_", "");

    FusedSgd(OptimizerSpec spec, Parameters parameters) {
        super(spec, parameters, spec.momentum() == 0 ? List.of() : List.of("momentum_buffer"));
    }

    @Override
    Tensor newState(String slot, Tensor parameter) {
        return torch.zeros_like(parameter);
    }

    @Override
    void update(double lr, BitSet included, BitSet started) {
        if (spec().momentum() == 0) {
            call(lr, included, Operators.tensorList(List.of()), false);
            return;
        }
        BitSet first = (BitSet) included.clone();
        first.andNot(started);
        if (!started.isEmpty()) {
            call(lr, started, lists(started)[1], false);
        }
        if (!first.isEmpty()) {
            call(lr, first, lists(first)[1], true);
        }
    }

    private void call(double lr, BitSet set, IValue momentumBuffers, boolean firstStep) {
        OptimizerSpec s = spec();
        SGD.callBoxed(new IValueVector(lists(set)[0], grads(set), momentumBuffers,
                new IValue(s.weightDecay()), new IValue(s.momentum()), new IValue(lr), new IValue(s.dampening()),
                new IValue(s.nesterov()), new IValue(false), new IValue(firstStep), new IValue(), new IValue()));
    }

    @Override
    String libtorchKind() {
        return "SGD";
    }

    @Override
    void saveOptions(OutputArchive options) {
        OptimizerSpec s = spec();
        options.write("momentum", new IValue(s.momentum()));
        options.write("dampening", new IValue(s.dampening()));
        options.write("weight_decay", new IValue(s.weightDecay()));
        options.write("nesterov", new IValue(s.nesterov()));
    }
}
