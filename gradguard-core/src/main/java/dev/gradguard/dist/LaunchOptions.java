package dev.gradguard.dist;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What {@link Launcher} starts, with torchrun's conventions: {@code nprocPerNode} workers on this node,
 * node {@code nodeRank} of {@code nnodes}; global rank = {@code nodeRank * nprocPerNode + localRank}.
 *
 * @param nprocPerNode workers on this node, at least 1
 * @param nnodes nodes in the job, at least 1
 * @param nodeRank this node's index, {@code 0 <= nodeRank < nnodes}
 * @param masterAddr the address of global rank 0, which serves the rendezvous store
 * @param masterPort the store's port, 1..65535
 * @param threadsPerWorker libtorch threads each worker should use, at least 1
 * @param stopTimeout how long stopped workers get between SIGTERM and SIGKILL
 * @param workerArgs the arguments each worker's main class gets (for {@code gradguard}: the subcommand
 *     and its flags)
 * @param timeouts how long the workers wait for each other at the rendezvous and in each collective
 * @param restarts when the workers are started again after one fails; anything but {@link Restarts#none()}
 *     needs a {@code train} worker command that can resume (see {@link Launcher#checkLaunchable})
 */
public record LaunchOptions(int nprocPerNode, int nnodes, int nodeRank, String masterAddr, int masterPort,
        int threadsPerWorker, Duration stopTimeout, List<String> workerArgs, DistTimeouts timeouts,
        Restarts restarts) {
    public static final String DEFAULT_MASTER_ADDR = "127.0.0.1";
    public static final int DEFAULT_MASTER_PORT = 29500;
    public static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(10);

    public LaunchOptions {
        Objects.requireNonNull(masterAddr, "masterAddr");
        Objects.requireNonNull(timeouts, "timeouts");
        Objects.requireNonNull(restarts, "restarts");
        Objects.requireNonNull(stopTimeout, "stopTimeout");
        workerArgs = List.copyOf(workerArgs);
        if (nprocPerNode < 1) {
            throw new IllegalArgumentException("--nproc-per-node must be at least 1, got " + nprocPerNode);
        }
        if (nnodes < 1) {
            throw new IllegalArgumentException("--nnodes must be at least 1, got " + nnodes);
        }
        if (nodeRank < 0 || nodeRank >= nnodes) {
            throw new IllegalArgumentException("--node-rank must be in [0, " + (nnodes - 1) + "], got " + nodeRank);
        }
        if (masterPort < 1 || masterPort > 65535) {
            throw new IllegalArgumentException("--master-port must be in [1, 65535], got " + masterPort);
        }
        if (masterAddr.isBlank()) {
            throw new IllegalArgumentException("--master-addr must not be empty");
        }
        if (threadsPerWorker < 1) {
            throw new IllegalArgumentException("threads per worker must be at least 1, got " + threadsPerWorker);
        }
        if (stopTimeout.isNegative()) {
            throw new IllegalArgumentException("--timeout must not be negative, got " + stopTimeout.toSeconds());
        }
    }

    /** These options with the default timeouts ({@link DistTimeouts#defaults()}) and no restarts. */
    public LaunchOptions(int nprocPerNode, int nnodes, int nodeRank, String masterAddr, int masterPort,
            int threadsPerWorker, Duration stopTimeout, List<String> workerArgs) {
        this(nprocPerNode, nnodes, nodeRank, masterAddr, masterPort, threadsPerWorker, stopTimeout, workerArgs,
                DistTimeouts.defaults(), Restarts.none());
    }

    /** One node, {@code nproc} workers, the default address, port and stop timeout, cores / nproc threads each. */
    public static LaunchOptions local(int nproc, List<String> workerArgs) {
        return new LaunchOptions(nproc, 1, 0, DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT,
                defaultThreads(nproc), DEFAULT_STOP_TIMEOUT, workerArgs);
    }

    /** The cores this JVM may use divided among {@code nproc} workers, at least 1. */
    public static int defaultThreads(int nproc) {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / Math.max(1, nproc));
    }

    public LaunchOptions withMasterPort(int port) {
        return new LaunchOptions(nprocPerNode, nnodes, nodeRank, masterAddr, port, threadsPerWorker, stopTimeout,
                workerArgs, timeouts, restarts);
    }

    public LaunchOptions withNodes(int nodes, int rank) {
        return new LaunchOptions(nprocPerNode, nodes, rank, masterAddr, masterPort, threadsPerWorker, stopTimeout,
                workerArgs, timeouts, restarts);
    }

    public LaunchOptions withStopTimeout(Duration timeout) {
        return new LaunchOptions(nprocPerNode, nnodes, nodeRank, masterAddr, masterPort, threadsPerWorker, timeout,
                workerArgs, timeouts, restarts);
    }

    public LaunchOptions withThreads(int threads) {
        return new LaunchOptions(nprocPerNode, nnodes, nodeRank, masterAddr, masterPort, threads, stopTimeout,
                workerArgs, timeouts, restarts);
    }

    public LaunchOptions withTimeouts(DistTimeouts newTimeouts) {
        return new LaunchOptions(nprocPerNode, nnodes, nodeRank, masterAddr, masterPort, threadsPerWorker, stopTimeout,
                workerArgs, newTimeouts, restarts);
    }

    public LaunchOptions withRestarts(Restarts newRestarts) {
        return new LaunchOptions(nprocPerNode, nnodes, nodeRank, masterAddr, masterPort, threadsPerWorker, stopTimeout,
                workerArgs, timeouts, newRestarts);
    }

    public int worldSize() {
        return nprocPerNode * nnodes;
    }

    public int globalRank(int localRank) {
        return nodeRank * nprocPerNode + localRank;
    }
}
