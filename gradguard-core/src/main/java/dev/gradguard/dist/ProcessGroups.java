package dev.gradguard.dist;

import dev.gradguard.engine.Torch;
import java.time.Duration;
import java.util.Objects;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.PrefixStore;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.nccl.ProcessGroupNCCL;

/**
 * Creates the process group of a data-parallel job: c10d's {@code TCPStore} for the rendezvous (rank 0
 * serves it on {@code MASTER_ADDR:MASTER_PORT}, every rank connects) and a Gloo backend, libtorch's CPU
 * collectives; for a job on GPUs also an NCCL backend, as PyTorch's {@code "cpu:gloo,cuda:nccl"} does: CUDA
 * tensors (the gradient buffers) go through NCCL, small host values (flags, the loss) through Gloo.
 *
 * <p>NCCL's natives are only in the {@code -gpu} build ({@code mvn -Pgpu}); asking for NCCL with the CPU
 * natives is a {@link CollectiveException} that says so. This project's machines have no GPU: the NCCL path
 * has been compiled and its refusal tested, never run.
 */
public final class ProcessGroups {
    /** Gloo's worker threads per process: collectives of different buckets proceed in parallel. */
    static final int GLOO_THREADS = 2;

    private ProcessGroups() {
    }

    /** {@link #init(DistEnv, Duration, boolean)} without NCCL: a CPU job. */
    public static DistGroup init(DistEnv env, Duration timeout) {
        return init(env, timeout, false);
    }

    /**
     * Joins the job: blocks until all {@code env.worldSize()} processes have reached the store, then builds
     * the Gloo group (and the NCCL one when {@code cuda}).
     *
     * @param timeout how long the rendezvous and every later collective may wait for the peers
     * @param cuda whether the job trains on GPUs: adds an NCCL backend for CUDA tensors
     * @return the group; close it when done
     * @throws CollectiveException when the rendezvous fails or times out (the message names the address), or
     *     NCCL is asked for without the GPU natives
     */
    public static DistGroup init(DistEnv env, Duration timeout, boolean cuda) {
        Objects.requireNonNull(env, "env");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        Torch.load();
        if (cuda) {
            requireNcclNatives();
        }
        Store store = null;
        try {
            TCPStoreOptions so = new TCPStoreOptions();
            so.port((short) env.masterPort());
            so.isServer(env.rank() == 0);
            so.numWorkers(new SizeTPointer(1).put(env.worldSize()));
            so.waitWorkers(true);
            so.timeout(new Milliseconds(timeout.toMillis()));
            store = new TCPStore(env.masterAddr(), so);
            ProcessGroupGloo.Options opts = ProcessGroupGloo.Options.create(new Milliseconds(timeout.toMillis()));
            opts.devices().push_back(ProcessGroupGloo.createDeviceForHostname(glooHost(env)));
            opts.threads(GLOO_THREADS);
            ProcessGroupGloo gloo = new ProcessGroupGloo(store, env.rank(), env.worldSize(), opts);
            Backend nccl = null;
            Store ncclStore = null;
            if (cuda) {
                // each backend keeps its rendezvous keys under its own prefix, as PyTorch's process groups do;
                // the group holds on to the prefix store for as long as NCCL may use it
                ncclStore = new PrefixStore("cuda/", store);
                ProcessGroupNCCL.Options no = ProcessGroupNCCL.Options.create();
                no.timeout(new Milliseconds(timeout.toMillis()));
                nccl = new ProcessGroupNCCL(ncclStore, env.rank(), env.worldSize(), no);
            }
            return new DistGroup(env, store, gloo, nccl, ncclStore);
        } catch (RuntimeException e) {
            if (store != null) {
                store.close();
            }
            throw new CollectiveException("rank " + env.rank() + " could not join the process group of "
                    + env.worldSize() + " at " + env.masterAddr() + ":" + env.masterPort() + " within "
                    + timeout.toSeconds() + " s: " + e.getMessage(), e);
        }
    }

    /**
     * Loads NCCL's Java binding, whose natives only the {@code -gpu} build has.
     *
     * @throws CollectiveException naming the fix when they are missing
     */
    static void requireNcclNatives() {
        try {
            Class.forName("org.bytedeco.pytorch.nccl.ProcessGroupNCCL$Options", true, ProcessGroups.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new CollectiveException("data-parallel training on GPUs needs NCCL, which this build does not have: it"
                    + " has libtorch's CPU natives; build with 'mvn -Pgpu package' on a machine with CUDA 13.1, cuDNN 9"
                    + " and NCCL 2 ('gradguard doctor' checks them)", e);
        }
    }

    /**
     * The host name Gloo binds to: loopback when the master is on loopback (all ranks on this machine), else
     * this machine's host name, which must resolve to an address the other nodes reach.
     */
    private static String glooHost(DistEnv env) {
        String addr = env.masterAddr();
        if (addr.equals("127.0.0.1") || addr.equals("localhost") || addr.equals("::1")) {
            return "127.0.0.1";
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("this machine's host name does not resolve; Gloo needs it to"
                    + " talk to the other nodes: " + e.getMessage(), e);
        }
    }
}
