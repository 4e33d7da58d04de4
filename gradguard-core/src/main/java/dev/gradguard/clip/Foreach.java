package dev.gradguard.clip;

import dev.gradguard.libtorch.Operators;
import java.util.List;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * libtorch's multi-tensor operators {@code _foreach_norm} and {@code _foreach_mul_}, which PyTorch's
 * {@code clip_grad_norm_} calls once per (device, dtype) group. The Java binding has no functions for them,
 * so they are called through libtorch's dispatcher ({@link Operators}): one native call for a whole list,
 * where a loop in Java pays a JNI transition and a Java wrapper per tensor. On the CPU libtorch runs them tensor by tensor in
 * C++ ({@code linalg_vector_norm} and {@code mul_} on each), so the values are those of the per-tensor
 * calls; on CUDA they are PyTorch's own fused kernels.
 */
final class Foreach {
    private static final OperatorHandle NORM = Operators.find("aten::_foreach_norm", "Scalar");
    private static final OperatorHandle MUL = Operators.find("aten::_foreach_mul_", "Tensor");

    private Foreach() {
    }

    /**
     * Tensors of one device and dtype, in order, with the list argument that libtorch's foreach operators
     * take, built once for every operator applied to them.
     *
     * @param tensors at least one tensor
     */
    record Group(List<Tensor> tensors, IValue list) {
        Group(List<Tensor> tensors) {
            this(List.copyOf(tensors), Operators.tensorList(tensors));
        }

        Tensor first() {
            return tensors.get(0);
        }

        /**
         * The {@code order}-norm of each tensor, PyTorch's {@code torch._foreach_norm(tensors, order, dtype)}.
         *
         * @param dtype the dtype to accumulate and return the norms in, or null for each tensor's own
         */
        TensorVector norms(Scalar order, torch.ScalarType dtype) {
            IValueVector stack = new IValueVector(list, new IValue(order), dtype == null ? new IValue() : new IValue(dtype));
            NORM.callBoxed(stack);
            return stack.get(0).toTensorVector();
        }

        /** Multiplies every tensor in place by the one-element {@code factor}, PyTorch's {@code torch._foreach_mul_}. */
        void mul_(Tensor factor) {
            MUL.callBoxed(new IValueVector(list, new IValue(factor)));
        }
    }
}
