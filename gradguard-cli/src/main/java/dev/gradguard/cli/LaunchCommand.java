package dev.gradguard.cli;

import dev.gradguard.dist.DistTimeouts;
import dev.gradguard.dist.LaunchOptions;
import dev.gradguard.dist.LaunchResult;
import dev.gradguard.dist.Launcher;
import dev.gradguard.dist.Restarts;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code gradguard launch}: starts the worker JVMs of a data-parallel job, torchrun-style. */
@Command(name = "launch",
        header = "Start data-parallel workers, like torchrun.", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Start N worker JVMs running 'gradguard <args after -->', each with torchrun's environment:",
            "RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, and GRADGUARD_THREADS",
            "(= OMP_NUM_THREADS) threads per worker; 'train' also gets --threads when it has none.",
            "Worker output is prefixed with [rank k]. When a worker fails, the others are stopped (SIGTERM,",
            "then SIGKILL after --timeout) and the launcher exits with its code, naming the rank.",
            "With --max-restarts N, a failed job is started again up to N times and resumes from its last checkpoint.",
            "torchrun's spellings work too: --nproc_per_node, --node_rank, --master_addr, --master_port, --standalone."},
        footer = {"", "Example: gradguard launch --nproc-per-node 2 -- train --task adding --steps 200"})
public final class LaunchCommand implements Callable<Integer> {
    /**
     * Exit codes a restart cannot change: bad flags or data, a run state that cannot be read or written, a run
     * that diverged (it would again, from the same checkpoint), and a deliberate stop.
     */
    static final Set<Integer> NOT_RESTARTED = Set.of(ExitCodes.USAGE, ExitCodes.DATA, ExitCodes.CHECKPOINT,
            ExitCodes.DIVERGED, ExitCodes.TERMINATED);
    @Option(names = {"--nproc-per-node", "--nproc_per_node"}, paramLabel = "N", required = true,
            description = "workers on this node (at most 4 per core, and as many as fit in memory at about 512 MB each)")
    int nprocPerNode;
    @Option(names = "--nnodes", paramLabel = "M", description = "nodes in the job (default 1)")
    int nnodes = 1;
    @Option(names = {"--node-rank", "--node_rank"}, paramLabel = "R", description = "this node's index, 0..M-1 (default 0)")
    int nodeRank;
    @Option(names = {"--master-addr", "--master_addr"}, paramLabel = "ADDR", description = "host of rank 0 (default 127.0.0.1)")
    String masterAddr = LaunchOptions.DEFAULT_MASTER_ADDR;
    @Option(names = {"--master-port", "--master_port"}, paramLabel = "PORT",
            description = "rendezvous port on the master (default 29500)")
    int masterPort = LaunchOptions.DEFAULT_MASTER_PORT;
    @Option(names = "--standalone", description = "one node, rendezvous on 127.0.0.1 at a free port (torchrun's --standalone)")
    boolean standalone;
    @Option(names = {"--rdzv-timeout", "--rdzv_timeout"}, paramLabel = "S",
            description = "seconds the workers wait for each other to join (default 60)")
    long rdzvTimeoutSeconds = DistTimeouts.DEFAULT_RENDEZVOUS.toSeconds();
    @Option(names = {"--collective-timeout", "--collective_timeout"}, paramLabel = "S",
            description = "seconds a worker waits for its peers in one collective, e.g. a gradient all-reduce; a rank that"
                    + " is stopped or hangs is named after this long (default 300)")
    long collectiveTimeoutSeconds = DistTimeouts.DEFAULT_COLLECTIVE.toSeconds();
    @Option(names = {"--max-restarts", "--max_restarts"}, paramLabel = "N",
            description = "when a worker fails, stop all and start them again, at most N times (default 0); they resume"
                    + " from the last valid checkpoint (needs 'train' with --checkpoint-every and --out), or start over"
                    + " with --overwrite when there is none yet. Exit codes 2, 3, 4, 5 and 143 are not restarted")
    int maxRestarts;
    @Option(names = "--threads-per-worker", paramLabel = "T", description = "libtorch threads per worker (default: cores / N)")
    Integer threads;
    @Option(names = "--timeout", paramLabel = "S", description = "seconds stopped workers get between SIGTERM and SIGKILL (default 10)")
    int timeoutSeconds = (int) LaunchOptions.DEFAULT_STOP_TIMEOUT.toSeconds();
    @Option(names = "--debug", description = "show stack traces of errors")
    boolean debug;
    @Parameters(paramLabel = "ARGS", description = "after --: the gradguard command each worker runs, e.g. train ...")
    List<String> workerArgs = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (workerArgs.isEmpty()) {
            throw new IllegalArgumentException("nothing to launch: give the worker command after --, e.g. -- train --steps 100");
        }
        if (standalone) {
            if (nnodes != 1 || nodeRank != 0) {
                throw new IllegalArgumentException("--standalone is one node: it cannot go with --nnodes " + nnodes
                        + " or --node-rank " + nodeRank);
            }
            masterAddr = LaunchOptions.DEFAULT_MASTER_ADDR;
            masterPort = freePort();
        }
        LaunchOptions options = new LaunchOptions(nprocPerNode, nnodes, nodeRank, masterAddr, masterPort,
                threads != null ? threads : LaunchOptions.defaultThreads(nprocPerNode),
                Duration.ofSeconds(timeoutSeconds), workerArgs,
                new DistTimeouts(Duration.ofSeconds(rdzvTimeoutSeconds), Duration.ofSeconds(collectiveTimeoutSeconds)),
                new Restarts(maxRestarts, NOT_RESTARTED));
        LaunchResult result = new Launcher(options, Main.class.getName(), System.getProperty("java.class.path"), System.out,
                System.err).run();
        if (!result.succeeded()) {
            System.err.println("gradguard: error: " + result.message());
        }
        return result.exitCode();
    }

    /** A port free on loopback just now. */
    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
