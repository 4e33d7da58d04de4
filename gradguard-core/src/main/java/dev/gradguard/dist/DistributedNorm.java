package dev.gradguard.dist;

import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongArrayRefOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The total gradient norm when each rank holds only part of the gradients (sharded training): every rank
 * gets the norm of all ranks' gradients concatenated, PyTorch's {@code get_total_norm} of the whole set.
 *
 * <p>Finite {@code p}: each rank sums {@code ||g||_p^p} over its tensors, the sums are all-reduced (SUM) and
 * the p-th root taken; {@code p = inf}: the local max |g| is all-reduced with MAX (the recipe of FSDP and
 * Megatron-LM). Tensors every rank holds (replicated: unsharded parameters) are counted once, by rank 0,
 * not world-size times. Everything is computed in float64, so the result does not depend on how the
 * gradients are split across ranks beyond float64 rounding.
 *
 * <p>With plain data parallelism (every rank holds all gradients, averaged by
 * {@link DistGroup#allReduceMean}) no communication is needed: each rank's local norm is already the same.
 */
public final class DistributedNorm {
    private DistributedNorm() {
    }

    /** {@link #totalNorm(DistGroup, List, double, List)} with every tensor sharded (none replicated). */
    public static Tensor totalNorm(DistGroup group, List<Tensor> localGradients, double normType) {
        return totalNorm(group, localGradients, normType, java.util.Collections.nCopies(localGradients.size(), false));
    }

    /**
     * The {@code normType}-norm of all ranks' gradients together.
     *
     * @param localGradients this rank's gradient tensors (undefined ones are skipped)
     * @param normType {@code p > 0}, or {@code Double.POSITIVE_INFINITY}
     * @param replicated per tensor: true when every rank holds the same tensor, which then counts once
     * @return a 0-dim tensor on the CPU, identical on every rank, in the first gradient's dtype (float32 for
     *     half and bfloat16, and when there are no gradients), like {@code ClipGrad.getTotalNorm}
     * @throws IllegalArgumentException if {@code normType} is not positive or the lists' lengths differ
     * @throws CollectiveException if a peer fails
     */
    public static Tensor totalNorm(DistGroup group, List<Tensor> localGradients, double normType, List<Boolean> replicated) {
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(localGradients, "localGradients");
        Objects.requireNonNull(replicated, "replicated");
        if (!(normType > 0)) {
            throw new IllegalArgumentException("normType must be positive (or infinity), got " + normType);
        }
        if (replicated.size() != localGradients.size()) {
            throw new IllegalArgumentException(replicated.size() + " replicated flags for " + localGradients.size()
                    + " gradients");
        }
        boolean inf = normType == Double.POSITIVE_INFINITY;
        double local = 0;
        torch.ScalarType dtype = null;
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            Scalar order = new Scalar(normType);
            for (int i = 0; i < localGradients.size(); i++) {
                Tensor grad = localGradients.get(i);
                if (grad == null || !grad.defined()) {
                    continue;
                }
                if (dtype == null) {
                    dtype = resultType(grad);
                }
                if (grad.numel() == 0 || (!inf && replicated.get(i) && group.rank() != 0)) {
                    continue;
                }
                double norm = torch.linalg_vector_norm(grad, order, new LongArrayRefOptional(), false,
                        new ScalarTypeOptional(torch.ScalarType.Double)).item_double();
                local = inf ? Math.max(local, norm) : local + Math.pow(norm, normType);
                if (Double.isNaN(norm)) {
                    local = Double.NaN;
                }
            }
        }
        double total = group.allReduce(local, inf ? DistGroup.Op.MAX : DistGroup.Op.SUM);
        double norm = inf ? total : Math.pow(total, 1 / normType);
        return torch.scalar_tensor(new Scalar(norm), new org.bytedeco.pytorch.TensorOptions()
                .dtype(new ScalarTypeOptional(dtype == null ? torch.ScalarType.Float : dtype)));
    }

    private static torch.ScalarType resultType(Tensor grad) {
        torch.ScalarType t = grad.scalar_type().intern();
        return t == torch.ScalarType.Half || t == torch.ScalarType.BFloat16 ? torch.ScalarType.Float : t;
    }
}
