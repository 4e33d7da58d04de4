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

    /** {@link #init(DistEnv, DistTimeouts, boolean)} with one timeout for the rendezvous and the collectives. */
    public static DistGroup init(DistEnv env, Duration timeout, boolean cuda) {
        return init(env, DistTimeouts.both(Objects.requireNonNull(timeout, "timeout")), cuda);
    }

    /**
     * Joins the job: every rank calls this with the same world size and master address; it returns once all
     * have arrived. Rank 0 serves the store.
     *
     * @param timeouts how long the rendezvous may wait for all ranks, and each later collective for its peers
     * @param cuda whether the job trains on GPUs: adds an NCCL backend for CUDA tensors
     * @return the group; close it when done
     * @throws IllegalArgumentException when the master address does not resolve
     * @throws CollectiveException when the rendezvous fails (the port is taken, say) or times out, the message
     *     one line naming the address and how long it waited; or NCCL is asked for without the GPU natives
     */
    public static DistGroup init(DistEnv env, DistTimeouts timeouts, boolean cuda) {
        Objects.requireNonNull(env, "env");
        Objects.requireNonNull(timeouts, "timeouts");
        try {
            java.net.InetAddress.getByName(env.masterAddr());
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("the master address '" + env.masterAddr() + "' does not resolve to an"
                    + " address (MASTER_ADDR, --master-addr)");
        }
        Torch.load();
        if (cuda) {
            requireNcclNatives();
        }
        Store store = null;
        long start = System.nanoTime();
        try {
            TCPStoreOptions so = new TCPStoreOptions();
            so.port((short) env.masterPort());
            so.isServer(env.rank() == 0);
            so.numWorkers(new SizeTPointer(1).put(env.worldSize()));
            so.waitWorkers(true);
            so.timeout(new Milliseconds(timeouts.rendezvous().toMillis()));
            store = new TCPStore(env.masterAddr(), so);
            ProcessGroupGloo.Options opts = ProcessGroupGloo.Options.create(new Milliseconds(timeouts.collective().toMillis()));
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
                no.timeout(new Milliseconds(timeouts.collective().toMillis()));
                nccl = new ProcessGroupNCCL(ncclStore, env.rank(), env.worldSize(), no);
            }
            return new DistGroup(env, timeouts.collective(), store, gloo, nccl, ncclStore);
        } catch (RuntimeException e) {
            if (store != null) {
                store.close();
            }
            double waited = (System.nanoTime() - start) / 1e9;
            boolean timedOut = waited >= timeouts.rendezvous().toSeconds() - 1;
            String why = firstLine(e.getMessage());
            if (why.contains("EADDRINUSE") || why.toLowerCase(java.util.Locale.ROOT).contains("address already in use")) {
                why = "port " + env.masterPort() + " is already in use on this machine (another job, or a process still"
                        + " holding it): choose another --master-port";
            }
            throw new CollectiveException("rank " + env.rank() + " could not join the process group of "
                    + env.worldSize() + " at " + env.masterAddr() + ":" + env.masterPort()
                    + (timedOut ? " within the rendezvous timeout of " + timeouts.rendezvous().toSeconds() + " s (--rdzv-timeout)"
                            : String.format(java.util.Locale.ROOT, " (failed after %.1f s)", waited))
                    + ": " + why, e);
        }
    }

    /**
     * The first line of a native error, without the C++ backtrace libtorch appends and without the
     * {@code [source-file:line]} that Gloo puts first.
     */
    static String firstLine(String message) {
        if (message == null || message.isBlank()) {
            return "no reason given";
        }
        return message.strip().lines().findFirst().orElse("").replaceFirst("^\\[[^\\]]*\\]\\s*", "").strip();
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
     * The address Gloo binds to: this machine's address on the route to the master (loopback when the master is
     * on loopback, the address of the network interface that reaches it otherwise), found by connecting a UDP
     * socket, which sends nothing. Unlike this machine's host name, it is right also where the host name resolves
     * to loopback or to an interface the other nodes cannot reach (another network namespace, say).
     */
    private static String glooHost(DistEnv env) {
        try (java.net.DatagramSocket probe = new java.net.DatagramSocket()) {
            probe.connect(new java.net.InetSocketAddress(env.masterAddr(), env.masterPort()));
            java.net.InetAddress local = probe.getLocalAddress();
            if (local == null || local.isAnyLocalAddress()) {
                throw new java.io.IOException("no local address routes to it");
            }
            return local.getHostAddress();
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("this machine has no route to the master address " + env.masterAddr()
                    + " (--master-addr), so Gloo cannot talk to the other nodes: " + e.getMessage(), e);
        }
    }
}
