package dev.gradguard.dist;

import dev.gradguard.engine.Torch;
import java.time.Duration;
import java.util.Objects;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.Store;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;

/**
 * Creates the process group of a data-parallel job: c10d's {@code TCPStore} for the rendezvous (rank 0
 * serves it on {@code MASTER_ADDR:MASTER_PORT}, every rank connects) and a Gloo backend, libtorch's CPU
 * collectives.
 *
 * <p>GPU: NCCL is reached through the same c10d code with the {@code -gpu} natives
 * ({@code ProcessGroupNCCL} in place of {@code ProcessGroupGloo}); this build is CPU-only and that path is
 * untested here. The gradient buffers would then have to live on the GPU.
 */
public final class ProcessGroups {
    /** Gloo's worker threads per process: collectives of different buckets proceed in parallel. */
    static final int GLOO_THREADS = 2;

    private ProcessGroups() {
    }

    /**
     * Joins the job: blocks until all {@code env.worldSize()} processes have reached the store, then builds
     * the Gloo group.
     *
     * @param timeout how long the rendezvous and every later collective may wait for the peers
     * @return the group; close it when done
     * @throws CollectiveException when the rendezvous fails or times out (the message names the address)
     */
    public static DistGroup init(DistEnv env, Duration timeout) {
        Objects.requireNonNull(env, "env");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        Torch.load();
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
            return new DistGroup(env, store, gloo);
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
