package dev.gradguard.clip;

import dev.gradguard.libtorch.Operators;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Storage;
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
     * Tensors of one device and dtype, in order, with the list argument that libtorch's foreach operators take,
     * built once for every operator applied to them.
     */
    static final class Group {
        private final Tensor[] tensors;
        private final long[] addresses;
        private final IValue list;

        /**
         * @param tensors at least one tensor, not copied
         * @param addresses each tensor's data address, 0 for a tensor without elements, not copied
         */
        Group(Tensor[] tensors, long[] addresses) {
            this.tensors = tensors;
            this.addresses = addresses;
            this.list = Operators.tensorList(Arrays.asList(tensors));
        }

        Tensor first() {
            return tensors[0];
        }

        List<Tensor> tensors() {
            return Collections.unmodifiableList(Arrays.asList(tensors));
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

        /**
         * Multiplies every tensor in place by the one-element {@code factor}, PyTorch's
         * {@code torch._foreach_mul_}. When the tensors tile one contiguous CPU range ({@link #span}), as the views
         * of a {@link GradBuffer} do, the range is scaled by one {@code mul_} instead of tensor by tensor: each
         * element is multiplied on its own, so this changes no value.
         */
        void mul_(Tensor factor) {
            Tensor span = span();
            if (span != null) {
                span.mul_(factor);
            } else {
                MUL.callBoxed(new IValueVector(list, new IValue(factor)));
            }
        }

        /**
         * The range of memory the tensors tile, as a 1-D view of the first tensor's storage, or null. They tile it
         * when they are contiguous CPU tensors with elements, each starting where the one before it ends, and the
         * range lies inside the first tensor's storage (so the view is valid whatever storages the others belong
         * to: they are that memory).
         */
        private Tensor span() {
            Tensor first = tensors[0];
            if (tensors.length < 2 || !first.is_cpu()) {
                return null;
            }
            long itemSize = first.element_size();
            long next = addresses[0];
            long total = 0;
            for (int i = 0; i < tensors.length; i++) {
                if (addresses[i] == 0 || addresses[i] != next || !tensors[i].is_contiguous()) {
                    return null;
                }
                long numel = tensors[i].numel();
                next += numel * itemSize;
                total += numel;
            }
            Storage storage = first.storage();
            if (next > storage.data().address() + storage.nbytes()) {
                return null;
            }
            return first.as_strided(new long[] {total}, 1);
        }
    }
}
