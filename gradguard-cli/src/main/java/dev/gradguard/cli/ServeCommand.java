package dev.gradguard.cli;

import dev.gradguard.serve.DashboardServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code gradguard serve}: a live, read-only web dashboard of the runs in a directory. */
@Command(name = "serve",
        header = "Serve a live, read-only dashboard of the runs in a directory.", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Serve a read-only web dashboard of the runs in RUNS_DIR (each subdirectory with a metrics.jsonl): "
            + "a list of the runs, and per run its loss, gradient norms, clip rate and learning rate, updated live "
            + "while it trains. Runs until stopped (Ctrl-C)."},
        footer = {"", "Exit codes: 2 RUNS_DIR missing, or the port taken."})
public final class ServeCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUNS_DIR", description = "the directory holding run directories, e.g. runs")
    Path runsDir;
    @Option(names = "--port", paramLabel = "P", description = "port (default " + DashboardServer.DEFAULT_PORT + "; 0: any free port)")
    int port = DashboardServer.DEFAULT_PORT;
    @Option(names = "--host", paramLabel = "ADDRESS", description = "address to listen on (default " + DashboardServer.DEFAULT_HOST
            + ": this machine only)")
    String host = DashboardServer.DEFAULT_HOST;
    @Option(names = "--debug", description = "show stack traces of errors")
    boolean debug;

    @Override
    public Integer call() throws Exception {
        DashboardServer server = DashboardServer.start(runsDir, host, port);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "gradguard-serve-stop"));
        System.out.println("Serving the runs in " + server.runsDir() + " at " + server.url() + " (Ctrl-C stops)");
        stopped.await();
        return ExitCodes.OK;
    }
}
