package dev.gradguard.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Two worker JVMs (1 thread each) on loopback run {@link DistWorkerMain}. */
class CollectivesLoopbackTest {

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Runs {@link DistWorkerMain} in {@code mode} on 2 launched workers; their merged output, after success. */
    private static String launchWorkers(String mode) throws Exception {
        LaunchOptions o = new LaunchOptions(2, 1, 0, "127.0.0.1", freePort(), 1, Duration.ofSeconds(3), List.of(mode));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream sink = new PrintStream(out, true, StandardCharsets.UTF_8);
        LaunchResult r = new Launcher(o, DistWorkerMain.class.getName(), System.getProperty("java.class.path"), sink, sink).run();
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(r.succeeded(), r.message() + "\n" + text);
        return text;
    }

    @Test
    void collectivesAgreeWithLocallyComputedValues() throws Exception {
        String text = launchWorkers("collectives");
        for (int rank = 0; rank < 2; rank++) {
            for (String ok : List.of("OK broadcast", "OK allReduceMean", "OK norm p=1.0", "OK norm p=2.0", "OK norm p=3.0",
                    "OK norm p=Infinity", "OK agree", "OK barrier")) {
                assertTrue(text.contains("[rank " + rank + "] " + ok), ok + " on rank " + rank + ":\n" + text);
            }
        }
        Matcher m = Pattern.compile("\\[rank (\\d)\\] OK broadcast (\\w+)").matcher(text);
        assertTrue(m.find());
        String first = m.group(2);
        assertTrue(m.find());
        assertEquals(first, m.group(2), "both ranks hold the same parameters");
    }

    @Test
    void dataParallelStepsMatchTheFullBatchReferenceOnBothRanks() throws Exception {
        String text = launchWorkers("data-parallel");
        assertTrue(text.contains("[rank 0] OK data-parallel") && text.contains("[rank 1] OK data-parallel"), text);
    }

    @Test
    void ddpReducerAveragesDuringBackwardAndSkipsNonSyncingMicroBatches() throws Exception {
        String text = launchWorkers("reducer");
        assertTrue(text.contains("[rank 0] OK reducer") && text.contains("[rank 1] OK reducer"), text);
    }

    @Test
    void aParameterWithoutAGradientUnderTheReducerIsAnErrorAtThatStep() throws Exception {
        String text = launchWorkers("reducer-unused");
        assertTrue(text.contains("[rank 0] OK unused DDP's Reducer: some parameter got no gradient")
                && text.contains("[rank 1] OK unused"), text);
    }

    @Test
    void aParameterUnusedOnEveryRankIsLeftOutOfTheUpdateAsInPyTorch() throws Exception {
        String text = launchWorkers("unused-branch");
        assertTrue(text.contains("[rank 0] OK unused-branch") && text.contains("[rank 1] OK unused-branch"), text);
    }

    @Test
    void aDeadPeerMakesTheOtherFailWithinTheTimeout() throws Exception {
        int port = freePort();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process[] ps = new Process[2];
        for (int rank = 0; rank < 2; rank++) {
            ProcessBuilder pb = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                    DistWorkerMain.class.getName(), "peer-dies").redirectErrorStream(true);
            pb.environment().putAll(Launcher.workerEnvironment(
                    new LaunchOptions(2, 1, 0, "127.0.0.1", port, 1, Duration.ofSeconds(1), List.of()), rank));
            ps[rank] = pb.start();
        }
        try {
            assertTrue(ps[0].waitFor(40, TimeUnit.SECONDS), "rank 0 hung after its peer died");
            assertTrue(ps[1].waitFor(5, TimeUnit.SECONDS));
            String out0 = new String(ps[0].getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(7, ps[1].exitValue());
            assertEquals(0, ps[0].exitValue(), out0);
            Matcher m = Pattern.compile("FAILED_AFTER_MS (\\d+)").matcher(out0);
            assertTrue(m.find(), out0);
            assertTrue(Long.parseLong(m.group(1)) <= 6000, "failed after " + m.group(1) + " ms, timeout 5 s");
        } finally {
            ps[0].destroyForcibly();
            ps[1].destroyForcibly();
        }
    }
}
