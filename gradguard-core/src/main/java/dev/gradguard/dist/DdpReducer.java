package dev.gradguard.dist;

import dev.gradguard.model.Parameters;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolVector;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.LoggerOptional;
import org.bytedeco.pytorch.Reducer;
import org.bytedeco.pytorch.SizeTStringMap;
import org.bytedeco.pytorch.SizeTVector;
import org.bytedeco.pytorch.SizeTVectorVector;
import org.bytedeco.pytorch.T_SizeTVectorVectorSizeTVector_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * c10d's {@code Reducer}, the engine inside PyTorch's DistributedDataParallel, driven the way DDP drives it:
 * buckets assigned by {@code compute_bucket_assignment_by_size} (a 1 MiB first bucket, then 25 MiB, in
 * reverse parameter order, since backward produces the last layers' gradients first);
 * {@link #beforeForward()} at the start of every syncing forward (DDP rebuilds the buckets once, in the
 * order gradients became ready in the first step, and must be called there on every rank);
 * {@link #beforeBackward()} before the backward whose gradients are to be averaged. When that backward
 * returns, every parameter's gradient holds the mean over the ranks.
 *
 * <p>A backward without {@link #beforeBackward()} (the earlier micro-batches of an accumulating step)
 * leaves the gradients local, as DDP's {@code no_sync()} does. Every parameter that requires a gradient
 * must receive one in every syncing backward: {@code find_unused_parameters} is off, DDP's default, since
 * turning it on makes the Reducer walk the autograd graph from the outputs at every step. A model with
 * branches that some steps skip trains with {@link GradSync#FLAT}, where the trainer leaves a parameter that
 * no rank's backward reached out of the update, as DDP with {@code find_unused_parameters=True} does.
 *
 * <p>The gradients are not turned into views of the Reducer's buckets ({@code gradient_as_bucket_view} is
 * off): they stay whatever tensors they were, e.g. views into the trainer's flat {@code GradBuffer}, and the
 * Reducer copies into its buckets and back. Not thread-safe.
 */
final class DdpReducer implements AutoCloseable {
    /** DDP's {@code bucket_cap_mb} default, in bytes. */
    static final long BUCKET_BYTES = 25L << 20;
    /** DDP's first bucket, small so that the first all-reduce starts early. */
    static final long FIRST_BUCKET_BYTES = 1L << 20;

    private final Reducer reducer;
    private final int buckets;
    private boolean closed;

    DdpReducer(DistGroup group, Parameters parameters) {
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(parameters, "parameters");
        List<Tensor> trained = new ArrayList<>();
        for (Tensor p : parameters) {
            if (p.requires_grad()) {
                trained.add(p);
            }
        }
        if (trained.isEmpty()) {
            throw new IllegalArgumentException("the model has no parameter that requires a gradient");
        }
        // the Reducer keeps its own copy of the parameter list
        TensorVector params = new TensorVector(trained.toArray(new Tensor[0]));
        long n = trained.size();
        LongVector reverse = new LongVector(n);
        for (long i = 0; i < n; i++) {
            reverse.put(i, n - 1 - i);
        }
        boolean[] dense = new boolean[(int) n];
        SizeTVector caps = new SizeTVector(FIRST_BUCKET_BYTES, BUCKET_BYTES);
        T_SizeTVectorVectorSizeTVector_T assignment = torch.compute_bucket_assignment_by_size(params, caps,
                new BoolVector(dense), reverse, new LoggerOptional());
        SizeTVectorVector bucketIndices = assignment.get0();
        this.buckets = (int) bucketIndices.size();
        this.reducer = new Reducer(params, bucketIndices, group.processGroup(), new BoolVector(dense), BUCKET_BYTES,
                false /* find_unused_parameters */, false /* gradient_as_bucket_view */, new SizeTStringMap(),
                FIRST_BUCKET_BYTES, false /* skip_all_reduce_unused_params */, false /* use_python_reducer */);
    }

    /** How many buckets the gradients are all-reduced in. */
    int buckets() {
        return buckets;
    }

    /** Before the forward of a syncing step: DDP's {@code prepare_for_forward} and {@code _rebuild_buckets}. */
    void beforeForward() {
        check();
        try (PointerScope scope = new PointerScope()) {
            reducer.prepare_for_forward();
            reducer.rebuild_buckets();
        } catch (RuntimeException e) {
            throw unusedParameters(e);
        }
    }

    /** Before the backward whose gradients are to be averaged. */
    void beforeBackward() {
        check();
        try (PointerScope scope = new PointerScope()) {
            reducer.prepare_for_backward(new TensorVector());
        }
    }

    /**
     * After the syncing backward: checks that every bucket was reduced. A parameter that got no gradient
     * leaves its bucket waiting, so nothing in it was averaged; that is an error here, at the step where it
     * happens, rather than libtorch's at the next step (after one step of silently local gradients).
     *
     * @throws IllegalStateException naming the cause and the fix
     */
    void afterBackward() {
        check();
        try (PointerScope scope = new PointerScope()) {
            reducer.check_finalized();
        } catch (RuntimeException e) {
            throw unusedParameters(e);
        }
    }

    private static RuntimeException unusedParameters(RuntimeException e) {
        String m = String.valueOf(e.getMessage());
        if (!m.contains("Expected to have finished reduction")) {
            return e;
        }
        return new IllegalStateException("DDP's Reducer: some parameter got no gradient in this step's backward, so its"
                + " bucket was never averaged (unused parameters are not supported with --grad-sync reducer); use"
                + " --grad-sync flat, which leaves a parameter no rank's backward reached out of the update", e);
    }

    private void check() {
        if (closed) {
            throw new IllegalStateException("the Reducer is closed");
        }
    }

    /** Removes the Reducer's autograd hooks; the parameters train locally again. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            reducer.remove_autograd_hooks();
            reducer.close();
        }
    }
}
