package dev.gradguard.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.metrics.Json;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gradguard launch --nproc-per-node 2 -- train ...} on loopback: two replicas that stay identical. */
class DataParallelTrainTest {
    @TempDir
    Path tmp;

    @Test
    void twoWorkersTrainIdenticalReplicasAndRankZeroWritesTheRun() throws Exception {
        Path out = tmp.resolve("ddp");
        Path log = tmp.resolve("launch.log");
        List<String> command = launch(freePort(), "--task", "adding", "--length", "12", "--hidden", "16",
                "--batch-size", "32", "--steps", "40", "--eval-samples", "200", "--quiet",
                "--inject-nonfinite", "7", "--checkpoint-every", "20", "--out", out.toString());
        runOk(command, log);

        JsonNode s = Json.compact().readTree(out.resolve("summary.json").toFile());
        assertEquals(2, s.get("world_size").asInt());
        JsonNode sums = s.get("rank_param_checksums");
        assertEquals(2, sums.size());
        assertEquals(sums.get(0).asText(), sums.get(1).asText(), "identical parameters on every rank");
        assertEquals(s.get("param_checksum").asText(), sums.get(0).asText());
        assertEquals(1, s.get("skipped_steps").asInt(), "the injected step is skipped on every rank");
        assertEquals(40, Files.readAllLines(out.resolve("metrics.jsonl")).size(), "rank 0 alone writes the metrics");
        assertTrue(Files.isDirectory(out.resolve("checkpoints").resolve("step-00000040")));

        // the same run stopped at step 20 and resumed by both ranks ends with the same weights
        // (--resume accepts a changed --grad-sync: it changes how, not what, is averaged)
        Path split = tmp.resolve("split");
        List<String> first = new java.util.ArrayList<>(command);
        first.set(first.indexOf(out.toString()), split.toString());
        first.set(first.indexOf("40"), "20");
        Path log2 = tmp.resolve("split.log");
        runOk(first, log2);
        List<String> second = new java.util.ArrayList<>(command);
        second.set(second.indexOf(out.toString()), split.toString());
        second.add("--resume");
        // resumed under DDP's Reducer: with 2 ranks its average (halves summed) equals the flat one (sum halved)
        // bit for bit, so the result must still be the uninterrupted flat run's
        second.addAll(List.of("--grad-sync", "reducer"));
        runOk(second, log2);
        JsonNode resumed = Json.compact().readTree(split.resolve("summary.json").toFile());
        assertEquals(20, resumed.get("resumed_from_step").asInt());
        assertEquals(s.get("param_checksum").asText(), resumed.get("param_checksum").asText(), Files.readString(log2));
        assertEquals(40, Files.readAllLines(split.resolve("metrics.jsonl")).size());
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Runs a launch command to completion, its output appended to {@code log}; it must exit 0. */
    private static void runOk(List<String> command, Path log) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), Files.readString(log));
        assertEquals(0, p.exitValue(), Files.readString(log));
    }

    private static List<String> launch(int port, String... train) {
        List<String> command = new java.util.ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), "dev.gradguard.cli.Main", "launch", "--nproc-per-node", "2",
                "--master-port", Integer.toString(port), "--", "train"));
        command.addAll(List.of(train));
        return command;
    }

    @Test
    void aSpikeRollsEveryRankBackToTheSameCheckpointUnderTheReducer() throws Exception {
        Path out = tmp.resolve("rollback");
        Path log = tmp.resolve("rollback.log");
        // adding at lr 0.5 spikes early; any pre-clip norm above 1 counts as a spike
        runOk(launch(freePort(), "--task", "adding", "--length", "12", "--hidden", "16",
                "--batch-size", "32", "--steps", "30", "--lr", "0.5", "--clip", "spike-abs:1,norm:1.0",
                "--checkpoint-every", "5", "--rollback", "50", "--grad-sync", "reducer", "--eval-samples", "200",
                "--quiet", "--out", out.toString()), log);
        JsonNode s = Json.compact().readTree(out.resolve("summary.json").toFile());
        assertTrue(s.get("rollbacks").size() > 0, s.toString());
        JsonNode sums = s.get("rank_param_checksums");
        assertEquals(sums.get(0).asText(), sums.get(1).asText(), "both ranks rolled back alike");
        assertEquals("reducer", s.get("config").get("grad-sync").asText());
        assertEquals(30, Files.readAllLines(out.resolve("metrics.jsonl")).size());
        String text = Files.readString(log);
        assertTrue(text.contains("rolled back to the checkpoint of step"), text);
        // every spike is seen with the same averaged gradient norm on both ranks, also after rollbacks
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\[rank (\\d)\\] gradguard: step (\\d+) spiked \\(grad norm (\\S+) ")
                .matcher(text);
        java.util.Map<String, java.util.Set<String>> normsByStep = new java.util.TreeMap<>();
        int lines = 0;
        while (m.find()) {
            normsByStep.computeIfAbsent(m.group(2), k -> new java.util.TreeSet<>()).add(m.group(3));
            lines++;
        }
        assertTrue(lines >= 2 * s.get("rollbacks").size(), text);
        normsByStep.forEach((step, norms) -> assertEquals(1, norms.size(), "step " + step + ": " + norms));

        // every step spikes: rollbacks at steps 2 and 3 (to the checkpoint of step 2), then giving up stops
        // both ranks right after step 4, as a single process does (5 steps, exit 5)
        Path limited = tmp.resolve("limited");
        Process p = new ProcessBuilder(launch(freePort(), "--task", "adding", "--length", "12", "--hidden", "16",
                "--batch-size", "32", "--steps", "30", "--lr", "0.5", "--clip", "spike-abs:0.001",
                "--checkpoint-every", "2", "--rollback", "2", "--eval-samples", "200", "--quiet",
                "--out", limited.toString())).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), Files.readString(log));
        assertEquals(5, p.exitValue(), Files.readString(log));
        JsonNode l = Json.compact().readTree(limited.resolve("summary.json").toFile());
        assertEquals(5, l.get("steps").asInt(), l.toString());
        assertTrue(l.get("stop_reason").asText().startsWith("gave up after 2 rollbacks"), l.toString());
        assertEquals(5, Files.readAllLines(limited.resolve("metrics.jsonl")).size());
    }

    @Test
    void fp16OverflowsAreSkippedOnEveryRankAlikeAndRankZeroAloneServesTheDashboard() throws Exception {
        Path out = tmp.resolve("fp16");
        Path log = tmp.resolve("fp16.log");
        // 2^20 is too large a scale for these float16 gradients: the first steps overflow
        runOk(launch(freePort(), "--task", "adding", "--model", "rnn", "--length", "12",
                "--hidden", "16", "--batch-size", "32", "--steps", "30", "--precision", "fp16",
                "--loss-scale-init", "1048576", "--eval-samples", "200", "--quiet", "--out", out.toString(),
                // a fixed port: only rank 0 may serve the dashboard, or rank 1 would fail to bind it
                "--dashboard", Integer.toString(freePort())), log);
        JsonNode s = Json.compact().readTree(out.resolve("summary.json").toFile());
        JsonNode sums = s.get("rank_param_checksums");
        assertEquals(sums.get(0).asText(), sums.get(1).asText(), "both ranks skipped the same steps");
        assertTrue(s.get("skipped_steps").asInt() > 0, s.toString());
        assertEquals(0, s.get("nonfinite_steps").asInt(), s.toString());
        assertTrue(s.get("params_finite").asBoolean());
        String text = Files.readString(log);
        assertEquals(1, text.split("live dashboard at", -1).length - 1, text);
        assertTrue(text.contains("[rank 0] gradguard: live dashboard at"), text);
    }

    @Test
    void aSignalToOneRankStopsBothAtTheSameStepWithACheckpoint() throws Exception {
        Path out = tmp.resolve("signal");
        Path log = tmp.resolve("signal.log");
        List<String> command = launch(freePort(), "--task", "adding", "--length", "12", "--hidden", "16",
                "--batch-size", "32", "--steps", "1000000", "--eval-samples", "200", "--quiet", "--out", out.toString());
        Process launcher = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Path metrics = out.resolve("metrics.jsonl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!(Files.exists(metrics) && Files.readAllLines(metrics).size() >= 20)) {
            assertTrue(launcher.isAlive() && System.nanoTime() < deadline, Files.readString(log));
            Thread.sleep(100);
        }
        ProcessHandle rank1 = launcher.toHandle().children().filter(h -> rankOf(h) == 1).findFirst().orElseThrow();
        long t0 = System.nanoTime();
        rank1.destroy(); // SIGTERM to rank 1 only
        assertTrue(launcher.waitFor(60, TimeUnit.SECONDS), "the job ends long before the collectives' timeout\n"
                + Files.readString(log));
        double seconds = (System.nanoTime() - t0) / 1e9;
        String text = Files.readString(log);
        assertTrue(launcher.exitValue() != 0, text);
        java.util.regex.Matcher r0 = java.util.regex.Pattern.compile("\\[rank 0\\] Training stopped after (\\d+) steps"
                + " \\(another data-parallel rank was asked to stop\\)").matcher(text);
        java.util.regex.Matcher r1 = java.util.regex.Pattern.compile("\\[rank 1\\] Training stopped after (\\d+) steps"
                + " \\(interrupted by a signal\\)").matcher(text);
        assertTrue(r0.find() && r1.find(), text);
        long steps = Long.parseLong(r0.group(1));
        assertEquals(steps, Long.parseLong(r1.group(1)), "both ranks stopped before the same step");
        assertTrue(Files.isDirectory(out.resolve("checkpoints").resolve(String.format("step-%08d", steps))), text);
        assertEquals(steps, Files.readAllLines(metrics).size(), "metrics end at the checkpoint");
        assertTrue(seconds < 30, "stopped in " + seconds + " s");
    }

    @Test
    void aStoppedRankIsNamedInOneLineAfterTheCollectiveTimeout() throws Exception {
        Path out = tmp.resolve("sigstop");
        Path log = tmp.resolve("sigstop.log");
        List<String> command = launch(freePort(), "--task", "adding", "--length", "12", "--hidden", "16",
                "--batch-size", "32", "--steps", "1000000", "--eval-samples", "200", "--quiet", "--out", out.toString());
        command.addAll(command.indexOf("--"), List.of("--collective-timeout", "5", "--timeout", "2"));
        Process launcher = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ProcessHandle rank1 = null;
        try {
            Path metrics = out.resolve("metrics.jsonl");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!(Files.exists(metrics) && Files.readAllLines(metrics).size() >= 20)) {
                assertTrue(launcher.isAlive() && System.nanoTime() < deadline, Files.readString(log));
                Thread.sleep(100);
            }
            rank1 = launcher.toHandle().children().filter(h -> rankOf(h) == 1).findFirst().orElseThrow();
            long t0 = System.nanoTime();
            assertEquals(0, new ProcessBuilder("kill", "-STOP", Long.toString(rank1.pid())).start().waitFor());
            assertTrue(launcher.waitFor(60, TimeUnit.SECONDS), "the job ends soon after the 5 s collective timeout\n"
                    + Files.readString(log));
            double seconds = (System.nanoTime() - t0) / 1e9;
            String text = Files.readString(log);
            assertEquals(6, launcher.exitValue(), text);
            assertTrue(seconds >= 4 && seconds < 30, "noticed after " + seconds + " s:\n" + text);
            List<String> errors = text.lines().filter(l -> l.contains("error")).toList();
            assertTrue(errors.stream().anyMatch(l -> l.startsWith("[rank 0] gradguard: error: rank 0: ")
                    && l.contains("rank 1 did not answer within the collective timeout of 5 s (--collective-timeout)")), text);
            assertTrue(errors.stream().anyMatch(l -> l.startsWith("gradguard: error: rank 0 exited with code 6")), text);
            assertTrue(text.lines().noneMatch(l -> l.matches("\\[rank \\d\\]\\s+at .*") || l.contains("frame #")),
                    "no stack trace:\n" + text);
        } finally {
            launcher.destroyForcibly();
            if (rank1 != null) {
                rank1.destroyForcibly();
            }
        }
    }

    @Test
    void aRankKilledMidRunIsRestartedAndTheJobEndsWithTheUninterruptedWeights() throws Exception {
        List<String> train = List.of("--task", "adding", "--length", "12", "--hidden", "16", "--batch-size", "32",
                "--steps", "300", "--checkpoint-every", "100", "--eval-samples", "200", "--quiet");
        Path reference = tmp.resolve("uninterrupted");
        List<String> command = launch(freePort(), train.toArray(new String[0]));
        command.addAll(List.of("--out", reference.toString()));
        runOk(command, tmp.resolve("uninterrupted.log"));
        String expected = Json.compact().readTree(reference.resolve("summary.json").toFile()).get("param_checksum").asText();

        Path out = tmp.resolve("restarted");
        Path log = tmp.resolve("restarted.log");
        List<String> restarted = launch(freePort(), train.toArray(new String[0]));
        restarted.addAll(List.of("--out", out.toString()));
        restarted.addAll(restarted.indexOf("--"), List.of("--max-restarts", "2"));
        Process launcher = new ProcessBuilder(restarted).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            Path metrics = out.resolve("metrics.jsonl");
            // SIGKILL before the first checkpoint (step 100): the restart starts over
            waitForSteps(launcher, metrics, 10, log);
            assertTrue(!Files.exists(out.resolve("checkpoints").resolve("step-00000100")), "killed too late to test this");
            killRank1(launcher);
            waitFor(launcher, () -> Files.readString(log).contains("restart 1 of 2"), log);
            // SIGKILL after it: the restart resumes from step 100
            waitForSteps(launcher, metrics, 130, log);
            killRank1(launcher);
            assertTrue(launcher.waitFor(180, TimeUnit.SECONDS), Files.readString(log));
            String text = Files.readString(log);
            assertEquals(0, launcher.exitValue(), text);
            List<String> restartLines = text.lines().filter(l -> l.startsWith("gradguard: ")).toList();
            assertEquals(List.of(
                    "gradguard: rank 1 exited with code 137; restart 1 of 2: no valid checkpoint yet, starting over (--overwrite)",
                    "gradguard: rank 1 exited with code 137; restart 2 of 2: resuming from the checkpoint of step 100"),
                    restartLines, text);
            JsonNode s = Json.compact().readTree(out.resolve("summary.json").toFile());
            assertEquals(100, s.get("resumed_from_step").asInt(), s.toString());
            assertEquals(expected, s.get("param_checksum").asText(), text);
            assertEquals(300, Files.readAllLines(metrics).size(), "the steps of the killed starts are not counted twice");
        } finally {
            launcher.destroyForcibly();
        }
    }

    private static void waitForSteps(Process launcher, Path metrics, int steps, Path log) throws Exception {
        waitFor(launcher, () -> Files.exists(metrics) && Files.readAllLines(metrics).size() >= steps, log);
    }

    private static void waitFor(Process launcher, java.util.concurrent.Callable<Boolean> condition, Path log)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!condition.call()) {
            assertTrue(launcher.isAlive() && System.nanoTime() < deadline, Files.readString(log));
            Thread.sleep(20);
        }
    }

    /** SIGKILL to the live worker of rank 1. */
    private static void killRank1(Process launcher) {
        ProcessHandle rank1 = launcher.toHandle().children().filter(h -> h.isAlive() && rankOf(h) == 1).findFirst()
                .orElseThrow();
        assertTrue(rank1.destroyForcibly());
    }

    /** The RANK in a worker's environment (Linux /proc; the tests run as the worker's user). */
    private static int rankOf(ProcessHandle h) {
        try {
            for (String kv : new String(Files.readAllBytes(Path.of("/proc", Long.toString(h.pid()), "environ")),
                    java.nio.charset.StandardCharsets.UTF_8).split("\u0000")) {
                if (kv.startsWith("RANK=")) {
                    return Integer.parseInt(kv.substring(5));
                }
            }
        } catch (java.io.IOException e) {
            return -1;
        }
        return -1;
    }

    @Test
    void ranksThatSeeDifferentCheckpointsRefuseToResume() throws Exception {
        // rank 0's run directory has checkpoints, rank 1's (standing in for a directory rank 1 cannot see) none
        Path seen = tmp.resolve("seen");
        Path unseen = tmp.resolve("unseen");
        List<String> train = List.of("--task", "adding", "--length", "12", "--hidden", "16", "--batch-size", "32",
                "--steps", "10", "--checkpoint-every", "5", "--eval-samples", "100", "--threads", "1", "--quiet");
        List<String> first = new java.util.ArrayList<>(List.of("train", "--out", seen.toString()));
        first.addAll(train);
        assertEquals(0, dev.gradguard.cli.Main.run(first.toArray(new String[0])));
        Files.createDirectories(unseen);
        Files.copy(seen.resolve("config.json"), unseen.resolve("config.json"));

        LaunchOptions o = new LaunchOptions(2, 1, 0, "127.0.0.1", freePort(), 1, java.time.Duration.ofSeconds(3), List.of());
        Process[] ps = new Process[2];
        for (int rank = 0; rank < 2; rank++) {
            List<String> cmd = new java.util.ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                    "-cp", System.getProperty("java.class.path"), "dev.gradguard.cli.Main", "train", "--resume",
                    "--out", (rank == 0 ? seen : unseen).toString()));
            cmd.addAll(train);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(tmp.resolve("rank" + rank + ".log").toFile());
            pb.environment().putAll(Launcher.workerEnvironment(o, rank));
            ps[rank] = pb.start();
        }
        for (int rank = 0; rank < 2; rank++) {
            String log = tmp.resolve("rank" + rank + ".log").toString();
            assertTrue(ps[rank].waitFor(60, TimeUnit.SECONDS), "rank " + rank + " did not stop");
            String text = Files.readString(Path.of(log));
            assertEquals(4, ps[rank].exitValue(), text);
            assertTrue(text.contains("the data-parallel ranks see different checkpoints to resume from (newest step by"
                    + " rank: [10, none])"), text);
        }
    }
}
