package dev.gradguard.optim;

import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;

/**
 * The optimizer a {@link dev.gradguard.train.Trainer} steps: gradguard's own ({@link FusedOptimizer}, built by
 * {@link Optimizers#create}), or a libtorch {@code Optimizer} a user built ({@link LibtorchOptimizer#of}).
 *
 * <p>Both step the same way: at a learning rate given per step (a schedule's), leaving out the parameters
 * that received no gradient, as PyTorch's optimizers skip a parameter whose gradient is {@code None} (no weight
 * decay, momentum or step count for it). A {@linkplain #checkedStep checked step} is all or nothing: an update
 * that would leave NaN or an infinity behind is undone, with the parameters and the optimizer state
 * bit-identical to before. Their state is saved in libtorch's optimizer archive layout
 * ({@code state/<key>/<tensor>} under the keys that {@code param_groups} lists in parameter order).
 *
 * <p>Create one outside any per-step {@code PointerScope}: it holds tensors across steps. Not thread-safe.
 */
public sealed interface TrainingOptimizer permits FusedOptimizer, LibtorchOptimizer {

    /** The kind a checkpoint records, e.g. libtorch's {@code Adam} or gradguard's {@code gradguard.Adam}. */
    String kind();

    /** Whether {@link #load} reads the state an optimizer of kind {@code savedKind} saved. */
    boolean reads(String savedKind);

    /** The parameters this optimizer updates, in order. */
    List<Tensor> parameters();

    /** The learning rate of the last step, or the configured one before any step. */
    double lr();

    /**
     * Steps at {@code lr}, leaving the {@code withheld} parameters untouched, unless the update would leave a
     * parameter (or, for gradguard's optimizers, a state tensor) NaN or infinite.
     *
     * @param withheld indices, in {@link #parameters()} order, of the parameters that received no gradient
     * @return empty when the update was applied; otherwise what was not finite, with the parameters and the
     *     optimizer state bit-identical to before the call
     */
    Optional<String> checkedStep(double lr, BitSet withheld);

    /**
     * Steps at {@code lr}, leaving the {@code withheld} parameters untouched, without any check.
     *
     * @throws IllegalArgumentException unless {@code lr} is finite and {@code >= 0}
     */
    void step(double lr, BitSet withheld);

    /** Writes the optimizer state to {@code archive}. */
    void save(OutputArchive archive);

    /**
     * Replaces the optimizer state by the one in {@code archive}, saved by an optimizer over the same
     * parameters that this one {@link #reads}.
     *
     * @throws RuntimeException when the archive does not fit (libtorch's, or an {@code IllegalArgumentException}
     *     naming what differs); gradguard's optimizers are then unchanged
     */
    void load(InputArchive archive);
}
