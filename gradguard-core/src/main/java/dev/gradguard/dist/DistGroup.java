package dev.gradguard.dist;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.BackendOptional;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ProcessGroup;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.bytedeco.pytorch.global.torch;

/**
 * The collectives of one process in a data-parallel job, over c10d's Gloo backend (and NCCL for CUDA tensors
 * in a GPU job); made by {@link ProcessGroups#init}. Every method is a collective: all ranks must call the same methods in the
 * same order with tensors of the same shapes, or they wait until the timeout.
 *
 * <p>Tensors are changed in place and must be contiguous; results are bit-identical on every rank. Each
 * call frees its native temporaries before returning. A peer that dies or stops answering makes the call
 * throw {@link CollectiveException} (at the latest after the group's timeout), never hang.
 *
 * <p>Not thread-safe: one thread issues the collectives.
 */
public final class DistGroup implements AutoCloseable {
    /** DDP's default bucket: 25 MiB of float32. */
    public static final long DEFAULT_BUCKET_ELEMENTS = (25L << 20) / Float.BYTES;

    /** A reduction. */
    public enum Op {
        SUM(ReduceOp.RedOpType.SUM), MIN(ReduceOp.RedOpType.MIN), MAX(ReduceOp.RedOpType.MAX);

        final ReduceOp.RedOpType type;

        Op(ReduceOp.RedOpType type) {
            this.type = type;
        }
    }

    /** Store keys under which ranks report that they saw a collective fail. */
    private static final String FAILED_KEY = "gradguard/failed/";
    /** How long a rank that saw a collective fail waits for the others to report it too. */
    private static final long ROLL_CALL_MILLIS = 3000;

    private final DistEnv env;
    private final Duration collectiveTimeout;
    private final Store store;
    private final ProcessGroupGloo gloo;
    private final Backend nccl;
    private final Store ncclStore;
    private ProcessGroup processGroup;
    private long gatherRound;
    private boolean closed;

    DistGroup(DistEnv env, Duration collectiveTimeout, Store store, ProcessGroupGloo gloo, Backend nccl, Store ncclStore) {
        this.env = env;
        this.collectiveTimeout = collectiveTimeout;
        this.store = store;
        this.gloo = gloo;
        this.nccl = nccl;
        this.ncclStore = ncclStore;
    }

    /** Whether CUDA tensors can take part (an NCCL backend is attached). */
    public boolean hasNccl() {
        return nccl != null;
    }

    /** Gloo for CPU tensors, NCCL for CUDA tensors. */
    private Backend backendFor(Tensor t) {
        if (!t.is_cuda()) {
            return gloo;
        }
        if (nccl == null) {
            throw new IllegalArgumentException("a CUDA tensor in a collective of a process group made without NCCL"
                    + " (ProcessGroups.init(env, timeout, true) adds it)");
        }
        return nccl;
    }

    public int rank() {
        return env.rank();
    }

    public int worldSize() {
        return env.worldSize();
    }

    public DistEnv env() {
        return env;
    }

    /**
     * Copies {@code root}'s values of every tensor into the same tensor on all other ranks (autograd off), so
     * that training starts from identical parameters.
     */
    public void broadcast(Iterable<Tensor> tensors, int root) {
        Objects.requireNonNull(tensors, "tensors");
        if (root < 0 || root >= worldSize()) {
            throw new IllegalArgumentException("root must be in [0, " + (worldSize() - 1) + "], got " + root);
        }
        collective("broadcast", () -> {
            try (NoGradGuard g = new NoGradGuard()) {
                BroadcastOptions opts = new BroadcastOptions();
                opts.rootRank(root);
                List<Work> pending = new ArrayList<>();
                for (Tensor t : tensors) {
                    pending.add(backendFor(t).broadcast(new TensorVector(contiguous(t).detach()), opts));
                }
                waitAll(pending);
            }
            return null;
        });
    }

    /**
     * Reduces every tensor element-wise across ranks, in place: all ranks end with the same result. Tensors
     * longer than {@code bucketElements} are reduced in chunks of that size, all in flight at once.
     */
    public void allReduce(List<Tensor> tensors, Op op, long bucketElements) {
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(op, "op");
        if (bucketElements < 1) {
            throw new IllegalArgumentException("bucketElements must be at least 1, got " + bucketElements);
        }
        collective("all-reduce " + op, () -> {
            AllreduceOptions opts = new AllreduceOptions();
            opts.reduceOp(new ReduceOp(op.type));
            List<Work> pending = new ArrayList<>();
            for (Tensor t : tensors) {
                Tensor flat = contiguous(t).view(-1);
                long n = flat.numel();
                for (long off = 0; off < n; off += bucketElements) {
                    Tensor bucket = flat.narrow(0, off, Math.min(bucketElements, n - off));
                    pending.add(backendFor(bucket).allreduce(new TensorVector(bucket), opts));
                }
            }
            waitAll(pending);
            return null;
        });
    }

    /**
     * Replaces every tensor by its mean over the ranks: a bucketed all-reduce SUM, then a division by the
     * world size. Use it on {@code GradBuffer.flatTensors()} after the last backward of a step.
     */
    public void allReduceMean(List<Tensor> tensors) {
        allReduceMean(tensors, DEFAULT_BUCKET_ELEMENTS);
    }

    /** {@link #allReduceMean(List)} with a chosen bucket size in elements. */
    public void allReduceMean(List<Tensor> tensors, long bucketElements) {
        allReduce(tensors, Op.SUM, bucketElements);
        if (worldSize() > 1) {
            try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
                Scalar world = new Scalar((double) worldSize());
                for (Tensor t : tensors) {
                    t.div_(world);
                }
            }
        }
    }

    /** A scalar reduced across ranks. */
    public double allReduce(double value, Op op) {
        return allReduce(new double[] {value}, op)[0];
    }

    /** A few host values reduced element-wise across ranks in one collective. */
    public double[] allReduce(double[] values, Op op) {
        Objects.requireNonNull(values, "values");
        try (PointerScope scope = new PointerScope()) {
            Tensor t = dev.gradguard.engine.Tensors.fromDoubles(values.clone(), values.length);
            allReduce(List.of(t), op, DEFAULT_BUCKET_ELEMENTS);
            double[] out = new double[values.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = t.get(i).item_double();
            }
            return out;
        }
    }

    /** True on every rank if {@code local} is true on every rank (a MIN all-reduce of a flag). */
    public boolean allTrue(boolean local) {
        return allReduce(local ? 1 : 0, Op.MIN) == 1;
    }

    /** True on every rank if {@code local} is true on any rank (a MAX all-reduce of a flag). */
    public boolean anyTrue(boolean local) {
        return allReduce(local ? 1 : 0, Op.MAX) == 1;
    }

    /**
     * Every rank's string, by rank, on every rank; through the rendezvous store (any length, any content).
     * Meant for small values such as parameter checksums.
     *
     * <p>The store is served from rank 0's process, so rank 0 returns only after every rank has read every
     * value (a rank that is still reading when rank 0 exits would fail), and then removes the round's keys.
     */
    public List<String> allGatherStrings(String local) {
        Objects.requireNonNull(local, "local");
        long round = gatherRound++;
        return collective("all-gather", () -> {
            String prefix = "gradguard/gather/" + round + "/";
            store.set(prefix + rank(), Base64.getEncoder().encodeToString(local.getBytes(StandardCharsets.UTF_8)));
            List<String> all = new ArrayList<>(worldSize());
            for (int r = 0; r < worldSize(); r++) {
                all.add(new String(Base64.getDecoder().decode(store.get_to_str(prefix + r)), StandardCharsets.UTF_8));
            }
            if (store.add(prefix + "read", 1) == worldSize()) {
                store.set(prefix + "all-read", "1");
            }
            if (rank() == 0) {
                store.get_to_str(prefix + "all-read"); // blocks until the last rank has read
                for (int r = 0; r < worldSize(); r++) {
                    store.deleteKey(prefix + r);
                }
                store.deleteKey(prefix + "read");
                store.deleteKey(prefix + "all-read");
            }
            return List.copyOf(all);
        });
    }

    /**
     * c10d's {@code ProcessGroup} over this group's Gloo backend, which DDP's Reducer talks to; made on first
     * use. (Its {@code (store, rank, size)} constructor aborts the JVM; this one does not.)
     */
    ProcessGroup processGroup() {
        if (closed) {
            throw new IllegalStateException("the process group is closed");
        }
        if (processGroup == null) {
            ProcessGroup pg = new ProcessGroup(rank(), worldSize());
            pg.setBackend(torch.DeviceType.CPU, ProcessGroup.BackendType.GLOO, new BackendOptional(gloo));
            if (nccl != null) {
                pg.setBackend(torch.DeviceType.CUDA, ProcessGroup.BackendType.NCCL, new BackendOptional(nccl));
            }
            pg.setDefaultBackend(nccl != null ? ProcessGroup.BackendType.NCCL : ProcessGroup.BackendType.GLOO);
            processGroup = pg;
        }
        return processGroup;
    }

    /** Returns once every rank has called it. */
    public void barrier() {
        collective("barrier", () -> {
            gloo.barrier()._wait();
            return null;
        });
    }

    /** Frees the group and the store. Collectives in flight on other ranks then fail. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (nccl != null) {
                nccl.shutdown();
                nccl.close();
                ncclStore.close();
            }
            gloo.close();
            store.close();
        }
    }

    private static Tensor contiguous(Tensor t) {
        if (!t.is_contiguous()) {
            throw new IllegalArgumentException("collectives work in place on contiguous tensors; got one of shape "
                    + java.util.Arrays.toString(t.sizes().vec().get()) + " that is not");
        }
        return t;
    }

    private static void waitAll(List<Work> pending) {
        for (Work w : pending) {
            w._wait();
        }
    }

    private <T> T collective(String what, Supplier<T> body) {
        if (closed) {
            throw new IllegalStateException("the process group is closed");
        }
        long start = System.nanoTime();
        try (PointerScope scope = new PointerScope()) {
            return body.get();
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            boolean timedOut = System.nanoTime() - start >= collectiveTimeout.toNanos() - 1_000_000_000L;
            throw new CollectiveException("rank " + rank() + ": " + what + " failed: " + silentRanks() + " did not answer"
                    + (timedOut ? " within the collective timeout of " + collectiveTimeout.toSeconds()
                            + " s (--collective-timeout)" : " (stopped, or its connection closed)")
                    + " [" + ProcessGroups.firstLine(e.getMessage()) + "]", e);
        }
    }

    /**
     * After a failed collective: the ranks that do not report the failure too within a few seconds, in words
     * ("rank 2", "ranks 1, 3"; "a peer" when every rank reports it). Every rank that saw the failure sets its key in the store and looks for the
     * others'; a rank that is stopped or gone never sets one. The store lives in rank 0: when it does not answer
     * either, that is the answer.
     */
    private String silentRanks() {
        CompletableFuture<List<Integer>> rollCall = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                store.set(FAILED_KEY + rank(), "1");
                List<Integer> silent = new ArrayList<>();
                long deadline = System.nanoTime() + ROLL_CALL_MILLIS * 1_000_000L;
                do {
                    silent.clear();
                    for (int r = 0; r < worldSize(); r++) {
                        if (r != rank() && !store.check(new StringVector(FAILED_KEY + r))) {
                            silent.add(r);
                        }
                    }
                    if (!silent.isEmpty()) {
                        Thread.sleep(100);
                    }
                } while (!silent.isEmpty() && System.nanoTime() < deadline);
                rollCall.complete(silent);
            } catch (RuntimeException | InterruptedException e) {
                rollCall.completeExceptionally(e);
            }
        }, "gradguard-roll-call");
        t.setDaemon(true);
        t.start();
        try {
            List<Integer> silent = rollCall.get(ROLL_CALL_MILLIS + 2000, TimeUnit.MILLISECONDS);
            if (silent.isEmpty()) {
                return "a peer";
            }
            return (silent.size() == 1 ? "rank " : "ranks ") + silent.stream().map(String::valueOf)
                    .collect(Collectors.joining(", "));
        } catch (ExecutionException | TimeoutException e) {
            return rank() == 0 ? "a peer" : "rank 0 (which holds the job's store)";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "a peer";
        }
    }
}
