package dev.gradguard.cli;

import dev.gradguard.dist.LaunchOptions;
import dev.gradguard.dist.LaunchResult;
import dev.gradguard.dist.Launcher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
            "then SIGKILL after --timeout) and the launcher exits with its code, naming the rank."},
        footer = {"", "Example: gradguard launch --nproc-per-node 2 -- train --task adding --steps 200"})
public final class LaunchCommand implements Callable<Integer> {
    @Option(names = "--nproc-per-node", paramLabel = "N", required = true, description = "workers on this node")
    int nprocPerNode;
    @Option(names = "--nnodes", paramLabel = "M", description = "nodes in the job (default 1)")
    int nnodes = 1;
    @Option(names = "--node-rank", paramLabel = "R", description = "this node's index, 0..M-1 (default 0)")
    int nodeRank;
    @Option(names = "--master-addr", paramLabel = "ADDR", description = "host of rank 0 (default 127.0.0.1)")
    String masterAddr = LaunchOptions.DEFAULT_MASTER_ADDR;
    @Option(names = "--master-port", paramLabel = "PORT", description = "rendezvous port on the master (default 29500)")
    int masterPort = LaunchOptions.DEFAULT_MASTER_PORT;
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
        LaunchOptions options = new LaunchOptions(nprocPerNode, nnodes, nodeRank, masterAddr, masterPort,
                threads != null ? threads : LaunchOptions.defaultThreads(nprocPerNode),
                Duration.ofSeconds(timeoutSeconds), workerArgs);
        LaunchResult result = new Launcher(options, Main.class.getName(), System.getProperty("java.class.path"), System.out,
                System.err).run();
        if (!result.succeeded()) {
            System.err.println("gradguard: error: " + result.message());
        }
        return result.exitCode();
    }
}
