package dev.gradguard.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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

    @Test
    void aFailedWorkerIsRestartedAtMostMaxTimesWithOneLineEach() throws Exception {
        // the probe fails on every start: two restarts, then the third failure ends the launch
        Path out = Path.of(System.getProperty("java.io.tmpdir"), "gradguard-no-such-run-" + System.nanoTime());
        LaunchOptions o = two("train", "--checkpoint-every", "5", "--out", out.toString(), "--overwrite", "fail-rank=1")
                .withRestarts(new Restarts(2, Set.of()));
        Captured c = launch(o);
        LaunchResult r = c.result();
        assertEquals(1, r.failedRank().getAsInt());
        assertEquals(3, r.exitCode());
        assertEquals(2, r.restarts());
        assertTrue(r.message().endsWith("the other workers were stopped (after 2 restarts)"), r.message());
        List<String> restartLines = c.err().lines().filter(l -> l.startsWith("gradguard: ")).toList();
        assertEquals(List.of(
                "gradguard: rank 1 exited with code 3; restart 1 of 2: no valid checkpoint yet, starting over (--overwrite)",
                "gradguard: rank 1 exited with code 3; restart 2 of 2: no valid checkpoint yet, starting over (--overwrite)"),
                restartLines, c.err());
        // three starts of each rank: the first with the user's arguments, the restarts without a checkpoint with
        // one --overwrite at the end
        String args = "ARGS=train,--threads,1,--checkpoint-every,5,--out," + out + ",";
        assertEquals(3, c.out().split("\\[rank 0\\] ENV", -1).length - 1, c.out());
        assertEquals(2, c.out().split(Pattern.quote(args + "--overwrite,fail-rank=1\n"), -1).length - 1, c.out());
        assertEquals(4, c.out().split(Pattern.quote(args + "fail-rank=1,--overwrite\n"), -1).length - 1, c.out());
        assertFalse(java.nio.file.Files.exists(out), "the launcher itself writes nothing into the run directory");
    }

    @Test
    void anExitCodeARestartCannotChangeEndsTheLaunchAtOnce() throws Exception {
        LaunchOptions o = two("train", "--checkpoint-every", "5", "--out", "unused", "fail-rank=0")
                .withRestarts(new Restarts(3, Set.of(3)));
        Captured c = launch(o);
        assertEquals(3, c.result().exitCode());
        assertEquals(0, c.result().restarts());
        assertTrue(c.err().lines().noneMatch(l -> l.contains("restart")), c.err());
    }

    @Test
    void restartsAreRefusedForAWorkerCommandThatCannotResume() {
        Restarts one = new Restarts(1, Set.of());
        for (List<String> args : List.of(List.of("compare", "a", "b"), List.of("train", "--out", "x"),
                List.of("train", "--checkpoint-every", "0", "--out", "x"), List.of("train", "--checkpoint-every=five",
                        "--out", "x"), List.of("train", "--checkpoint-every", "5"))) {
            LaunchOptions o = two(args.toArray(new String[0])).withRestarts(one);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Launcher.checkLaunchable(o));
            assertTrue(e.getMessage().startsWith("--max-restarts needs a worker command 'train ... --checkpoint-every N"
                    + " --out DIR'"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
        Launcher.checkLaunchable(two("train", "--checkpoint-every=5", "--out=x").withRestarts(one).withMasterPort(freePort()));
        Launcher.checkLaunchable(two("compare", "a", "b").withMasterPort(freePort()));
    }

    @Test
    void aRestartResumesWhenThereIsACheckpointAndOverwritesOtherwise() {
        LaunchOptions o = two("train", "--resume", "--out", "r", "--checkpoint-every", "5").withThreads(2);
        assertEquals(List.of("train", "--threads", "2", "--out", "r", "--checkpoint-every", "5", "--resume"),
                Launcher.restartArguments(o, true));
        assertEquals(List.of("train", "--threads", "2", "--out", "r", "--checkpoint-every", "5", "--overwrite"),
                Launcher.restartArguments(o, false));
        assertTrue(Launcher.resumableStep(o).isEmpty(), "no run directory, no checkpoint");
        assertTrue(Launcher.resumableStep(two("train")).isEmpty());
        assertThrows(IllegalArgumentException.class, () -> new Restarts(-1, Set.of()));
    }

    private static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
