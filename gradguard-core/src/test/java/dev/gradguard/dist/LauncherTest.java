package dev.gradguard.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class LauncherTest {
    private static final Pattern PIDS = Pattern.compile("(?:PID|CHILD) (\\d+)");

    record Captured(LaunchResult result, String out, String err, double seconds) {
        List<Long> pids() {
            List<Long> pids = new ArrayList<>();
            Matcher m = PIDS.matcher(out);
            while (m.find()) {
                pids.add(Long.parseLong(m.group(1)));
            }
            return pids;
        }
    }

    static Captured launch(LaunchOptions o) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        LaunchResult r = new Launcher(o, LaunchProbeMain.class.getName(), System.getProperty("java.class.path"),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)).run();
        return new Captured(r, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                (System.nanoTime() - t0) / 1e9);
    }

    static LaunchOptions two(String... args) {
        return new LaunchOptions(2, 1, 0, "127.0.0.1", 29777, 1, Duration.ofSeconds(3), List.of(args));
    }

    @Test
    void workersGetTorchrunEnvironmentAndPrefixedOutput() throws Exception {
        Captured c = launch(two("hello"));
        assertTrue(c.result().succeeded(), c.result().message());
        assertEquals(List.of(0, 0), c.result().workerExitCodes());
        for (int r = 0; r < 2; r++) {
            String expected = "[rank " + r + "] ENV RANK=" + r + " LOCAL_RANK=" + r + " WORLD_SIZE=2 LOCAL_WORLD_SIZE=2"
                    + " MASTER_ADDR=127.0.0.1 MASTER_PORT=29777 GRADGUARD_THREADS=1 ARGS=hello";
            assertTrue(c.out().contains(expected + "\n"), c.out());
            assertTrue(c.err().contains("[rank " + r + "] a line on stderr\n"), c.err());
        }
    }

    @Test
    void aFailedWorkerStopsTheOthersAndIsNamed() throws Exception {
        Captured c = launch(two("fail-rank=1", "spawn-child", "sleep"));
        LaunchResult r = c.result();
        assertFalse(r.succeeded());
        assertEquals(1, r.failedRank().getAsInt());
        assertEquals(3, r.failedExitCode());
        assertEquals(3, r.exitCode());
        assertEquals("error: rank 1 gives up", r.lastErrorLine());
        assertTrue(r.message().startsWith("rank 1 exited with code 3, last error: error: rank 1 gives up"), r.message());
        assertTrue(c.seconds() < 8, "took " + c.seconds() + " s");
        assertEquals(4, c.pids().size(), c.out()); // two workers, two grandchildren
        for (long pid : c.pids()) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid + " survived");
        }
    }

    @Test
    void noWorkerOutlivesALauncherStoppedBySigterm() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process launcher = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                ProbeLauncherMain.class.getName(), "2", "spawn-child", "sleep").redirectErrorStream(true).start();
        List<Long> pids = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(launcher.getInputStream(), StandardCharsets.UTF_8))) {
            CompletableFuture<Void> reading = CompletableFuture.runAsync(() -> {
                try {
                    String line;
                    while (pids.size() < 4 && (line = r.readLine()) != null) {
                        Matcher m = PIDS.matcher(line);
                        if (m.find()) {
                            synchronized (pids) {
                                pids.add(Long.parseLong(m.group(1)));
                            }
                        }
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            reading.get(30, TimeUnit.SECONDS);
            assertEquals(4, pids.size());
            assertEquals(4, launcher.descendants().count(), "two workers and their children");
            launcher.destroy(); // SIGTERM
            assertTrue(launcher.waitFor(10, TimeUnit.SECONDS), "launcher did not exit");
        } finally {
            launcher.destroyForcibly();
        }
        for (long pid : pids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid + " survived");
        }
    }

    @Test
    void twoNodesOnLoopbackGiveRanksZeroToThree() throws Exception {
        LaunchOptions base = two("hello").withNodes(2, 0);
        CompletableFuture<Captured> node1 = CompletableFuture.supplyAsync(() -> {
            try {
                return launch(base.withNodes(2, 1));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Captured node0 = launch(base);
        Captured other = node1.get(60, TimeUnit.SECONDS);
        Set<String> seen = new TreeSet<>();
        for (Captured c : List.of(node0, other)) {
            assertTrue(c.result().succeeded(), c.result().message());
            Matcher m = Pattern.compile("\\[rank (\\d)\\] ENV RANK=(\\d) LOCAL_RANK=(\\d) WORLD_SIZE=4 LOCAL_WORLD_SIZE=2")
                    .matcher(c.out());
            while (m.find()) {
                assertEquals(m.group(1), m.group(2));
                seen.add(m.group(2) + "/" + m.group(3));
            }
        }
        assertEquals(Set.of("0/0", "1/1", "2/0", "3/1"), seen);
    }

    @Test
    void trainGetsThreadsUnlessGiven() {
        LaunchOptions o = two("train", "--steps", "5").withThreads(3);
        assertEquals(List.of("train", "--threads", "3", "--steps", "5"), Launcher.workerArguments(o));
        assertEquals(List.of("train", "--threads=2"), Launcher.workerArguments(two("train", "--threads=2")));
        assertEquals(List.of("compare"), Launcher.workerArguments(two("compare")));
        assertEquals("3", Launcher.workerEnvironment(o, 1).get(Launcher.THREADS_ENV));
    }
}
