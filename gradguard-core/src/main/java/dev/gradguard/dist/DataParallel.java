package dev.gradguard.dist;

import dev.gradguard.clip.GradBuffer;
import dev.gradguard.model.Parameters;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The hooks a training loop needs for data-parallel training: every rank holds the whole model, trains on
 * its own share of the data, and averages the gradients before clipping and the optimizer step, so that
 * the parameters stay bit-identical on every rank.
 *
 * <p>Where each call belongs in a step ({@code Trainer.step()}):
 * <ol>
 *   <li>once, before the first step: {@link #broadcast(Parameters)} (after building the model and before the
 *       optimizer's first step; after loading a checkpoint on every rank it is harmless);</li>
 *   <li>after the backward of the step's last micro-batch, before the listeners' {@code onGradients} and the
 *       gradient pipeline: {@link #synchronize(GradBuffer)} (or {@link #synchronize(Parameters)} without a
 *       buffer). Clipping then sees the averaged gradients and computes the same norm on every rank;</li>
 *   <li>after the guard's decision, before the optimizer step:
 *       {@code apply = agreeAll(decision.applyUpdate())}, so a step skipped on one rank (a non-finite loss
 *       there) is skipped on all; the averaged gradients are then already non-finite everywhere, but a
 *       loss-based decision is per rank. {@link #agree} does this and finds out in the same all-reduce
 *       whether some parameter received no gradient on any rank; {@link #missingEverywhere} then says which,
 *       for the optimizer step to leave out;</li>
 *   <li>the loss to log: {@link #average(double)} of the step's loss (one more tiny all-reduce);</li>
 *   <li>metrics, checkpoints and console output only where {@link #isMain()}; a check that the ranks did
 *       not drift: {@code gatherChecksums(parameters.checksum())} now and then.</li>
 * </ol>
 * Data: build each rank's data source with {@link DataSharding#seedFor}{@code (seed, rank())}.
 *
 * <p>With one process ({@link #single()}, or a launch with world size 1) every method is a no-op that returns
 * the local value, so the same loop runs with and without a launcher. Not thread-safe.
 */
public final class DataParallel implements AutoCloseable {
    private final DistEnv env;
    private final DistGroup group;
    private GradSync gradSync;
    private DdpReducer reducer;

    private DataParallel(DistEnv env, DistGroup group) {
        this.env = env;
        this.group = group;
    }

    /** One process, no communication. */
    public static DataParallel single() {
        return new DataParallel(DistEnv.single(), null);
    }

    /** {@link #init(DistEnv, DistTimeouts, boolean)} with the default timeouts, on the CPU. */
    public static DataParallel init(DistEnv env) {
        return init(env, DistTimeouts.defaults(), false);
    }

    /** {@link #init(DistEnv, DistTimeouts, boolean)} with one timeout for the rendezvous and the collectives, on the CPU. */
    public static DataParallel init(DistEnv env, Duration timeout) {
        return init(env, DistTimeouts.both(timeout), false);
    }

    /**
     * Joins the job (blocks until every rank arrives, at most {@code timeouts.rendezvous()}); with a world size
     * of 1, no group is created.
     *
     * @param cuda whether the model trains on a GPU: gradients are then averaged through NCCL
     * @throws CollectiveException when the rendezvous fails or times out, or NCCL is missing from this build
     */
    public static DataParallel init(DistEnv env, DistTimeouts timeouts, boolean cuda) {
        Objects.requireNonNull(env, "env");
        return env.worldSize() == 1 ? new DataParallel(env, null)
                : new DataParallel(env, ProcessGroups.init(env, timeouts, cuda));
    }

    /** {@link #init(DistEnv)} from the launcher's environment when there is one, else {@link #single()}. */
    public static DataParallel fromEnvironment() {
        return fromEnvironment(false);
    }

    /**
     * {@link #init(DistEnv, DistTimeouts, boolean)} with the launcher's environment and timeouts
     * ({@link DistTimeouts#fromMap}) when there is one, else {@link #single()}.
     */
    public static DataParallel fromEnvironment(boolean cuda) {
        Map<String, String> env = System.getenv();
        return DistEnv.isLaunched(env) ? init(DistEnv.fromMap(env), DistTimeouts.fromMap(env), cuda) : single();
    }

    public int rank() {
        return env.rank();
    }

    public int worldSize() {
        return env.worldSize();
    }

    /** Rank 0: the one that writes metrics, checkpoints and console output. */
    public boolean isMain() {
        return env.isMain();
    }

    public DistEnv env() {
        return env;
    }

    /** The process group, empty with one process. */
    public Optional<DistGroup> group() {
        return Optional.ofNullable(group);
    }

    /** Copies rank 0's parameter values to every rank. */
    public void broadcast(Parameters parameters) {
        Objects.requireNonNull(parameters, "parameters");
        if (group != null) {
            group.broadcast(parameters, 0);
        }
    }

    /**
     * Chooses how gradients are averaged; call it once, after {@link #broadcast} and after the gradient buffer
     * (if any) is bound, before the first step. {@link GradSync#FLAT} needs nothing more. With
     * {@link GradSync#REDUCER} DDP's Reducer hooks into the parameters' autograd: then the step calls
     * {@link #beforeForward(boolean)} and {@link #beforeBackward(boolean)} around every micro-batch, the
     * gradients are averaged when backward returns, and {@code synchronize} only checks that every bucket
     * was. Nothing is set up with one process.
     *
     * @throws IllegalStateException in a data-parallel job, when a mode was chosen before
     */
    public void useGradSync(GradSync mode, Parameters parameters) {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(parameters, "parameters");
        if (group == null) {
            return;
        }
        if (gradSync != null) {
            throw new IllegalStateException("the gradient sync is already set up (" + gradSync.cliName() + ")");
        }
        gradSync = mode;
        if (mode == GradSync.REDUCER) {
            reducer = new DdpReducer(group, parameters);
        }
    }

    /** The Reducer's bucket count, 0 when gradients are not averaged by the Reducer. */
    public int reducerBuckets() {
        return reducer == null ? 0 : reducer.buckets();
    }

    /** Before each micro-batch's forward; {@code syncs}: this micro-batch's backward averages the gradients. */
    public void beforeForward(boolean syncs) {
        if (reducer != null && syncs) {
            reducer.beforeForward();
        }
    }

    /** Before each micro-batch's backward; {@code syncs} as in {@link #beforeForward(boolean)}. */
    public void beforeBackward(boolean syncs) {
        if (reducer != null && syncs) {
            reducer.beforeBackward();
        }
    }

    /**
     * Averages the gradients across ranks in place: one bucketed all-reduce over the buffer's flat tensors.
     * Under the Reducer, which averaged them during backward, it only checks that every bucket was reduced.
     *
     * @throws IllegalStateException under the Reducer, when a parameter got no gradient (its bucket was not
     *     averaged)
     */
    public void synchronize(GradBuffer buffer) {
        Objects.requireNonNull(buffer, "buffer");
        if (reducer != null) {
            reducer.afterBackward();
        } else if (group != null) {
            try (PointerScope scope = new PointerScope()) {
                group.allReduceMean(buffer.flatTensors());
            }
        }
    }

    /**
     * Averages the parameters' gradients across ranks in place, without a {@link GradBuffer}: they are copied
     * into one flat tensor, all-reduced and copied back (a parameter without a gradient counts as zeros and
     * gets one, as under DDP).
     */
    public void synchronize(Parameters parameters) {
        Objects.requireNonNull(parameters, "parameters");
        if (reducer != null) {
            reducer.afterBackward();
            return;
        }
        if (group == null) {
            return;
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
            List<Tensor> grads = new ArrayList<>();
            for (Tensor p : parameters) {
                if (!p.requires_grad()) {
                    continue;
                }
                if (!p.grad().defined()) {
                    p.mutable_grad().put(torch.zeros_like(p));
                }
                grads.add(p.grad());
            }
            if (grads.isEmpty()) {
                return;
            }
            List<Tensor> flats = new ArrayList<>();
            for (Tensor gr : grads) {
                flats.add(gr.reshape(-1));
            }
            Tensor flat = torch.cat(new TensorVector(flats.toArray(new Tensor[0])));
            group.allReduceMean(List.of(flat));
            long off = 0;
            for (Tensor gr : grads) {
                long n = gr.numel();
                gr.copy_(flat.narrow(0, off, n).view(gr.sizes().vec().get()));
                off += n;
            }
        }
    }

    /**
     * True on every rank exactly when {@code localDecision} is true on every rank: use it on "apply this
     * update" so that a step skipped on one rank is skipped on all.
     */
    public boolean agreeAll(boolean localDecision) {
        return group == null ? localDecision : group.allTrue(localDecision);
    }

    /**
     * What every rank agreed at a step's decision.
     *
     * @param applyEverywhere every rank applies the update
     * @param stopAnywhere some rank was asked to stop
     * @param allReceivedSomewhere on some rank every parameter received a gradient, so no parameter went
     *     without one on every rank (and {@link #missingEverywhere} need not be asked)
     */
    public record Agreement(boolean applyEverywhere, boolean stopAnywhere, boolean allReceivedSomewhere) {
    }

    /**
     * {@link #agreeAll}{@code (apply)}, {@link #anyTrue}{@code (stop)} and {@link #anyTrue}{@code (allReceived)}
     * in one three-element all-reduce: a step's collectives are few, since each costs about 0.2 ms over
     * loopback.
     *
     * @param allReceived whether every parameter that requires grad received a gradient in this step here
     */
    public Agreement agree(boolean apply, boolean stop, boolean allReceived) {
        if (group == null) {
            return new Agreement(apply, stop, allReceived);
        }
        double[] flags = group.allReduce(new double[] {apply ? 0 : 1, stop ? 1 : 0, allReceived ? 1 : 0},
                DistGroup.Op.MAX);
        return new Agreement(flags[0] == 0, flags[1] == 1, flags[2] == 1);
    }

    /**
     * The parameters that received no gradient on any rank, the same set on every rank: these are the ones
     * PyTorch's DDP ({@code find_unused_parameters=True}) leaves without a gradient, so the optimizer skips
     * them; a parameter that received one on some rank only has the average of that rank's gradient and the
     * others' zeros, as in DDP. One all-reduce of {@code count} flags; ask only when
     * {@link Agreement#allReceivedSomewhere()} is false, on every rank alike.
     *
     * @param missing this rank's parameters (indices below {@code count}) that received no gradient
     * @param count the number of parameters
     */
    public BitSet missingEverywhere(BitSet missing, int count) {
        Objects.requireNonNull(missing, "missing");
        if (group == null) {
            return (BitSet) missing.clone();
        }
        double[] flags = new double[count];
        for (int i = missing.nextSetBit(0); i >= 0 && i < count; i = missing.nextSetBit(i + 1)) {
            flags[i] = 1;
        }
        double[] everywhere = group.allReduce(flags, DistGroup.Op.MIN);
        BitSet result = new BitSet(count);
        for (int i = 0; i < count; i++) {
            if (everywhere[i] == 1) {
                result.set(i);
            }
        }
        return result;
    }

    /** True on every rank when {@code local} is true on any rank (e.g. "stop now"). */
    public boolean anyTrue(boolean local) {
        return group == null ? local : group.anyTrue(local);
    }

    /** The mean of {@code value} over the ranks (e.g. the step's loss for logging). */
    public double average(double value) {
        return group == null ? value : group.allReduce(value, DistGroup.Op.SUM) / worldSize();
    }

    /** Every rank's checksum, by rank; equal entries mean the ranks hold the same parameters. */
    public List<String> gatherChecksums(String local) {
        return allGather(local);
    }

    /** Every rank's string, by rank, on every rank (small values: checksums, a data position as JSON). */
    public List<String> allGather(String local) {
        return group == null ? List.of(local) : group.allGatherStrings(local);
    }

    /** Returns once every rank has called it. */
    public void barrier() {
        if (group != null) {
            group.barrier();
        }
    }

    @Override
    public void close() {
        if (reducer != null) {
            reducer.close();
        }
        if (group != null) {
            group.close();
        }
    }
}
