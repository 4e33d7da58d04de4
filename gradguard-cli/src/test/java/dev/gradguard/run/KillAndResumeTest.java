package dev.gradguard.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.metrics.Json;
import dev.gradguard.metrics.tensorboard.Event;
import dev.gradguard.metrics.tensorboard.EventFileReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash-safety harness: a training JVM is killed with SIGKILL at random moments, resumed each time,
 * and must end with the same weights as the same run left alone, with every step in metrics.jsonl and
 * the event file exactly once.
 */
class KillAndResumeTest {
    private static final int STEPS = 600;
    @TempDir
    Path tmp;

    private static List<String> command(Path out, String... extra) {
        List<String> c = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), "dev.gradguard.cli.Main", "train", "--task", "adding",
                "--length", "12", "--hidden", "16", "--batch-size", "16", "--lr", "0.1", "--steps", Integer.toString(STEPS),
                "--eval-samples", "300", "--threads", "1", "--checkpoint-every", "15", "--keep-checkpoints", "2",
                "--grad-norm-every", "40", "--quiet", "--out", out.toString()));
        c.addAll(List.of(extra));
        return c;
    }

    private static Process start(List<String> command, Path log) throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(
                java.lang.ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    @Test
    void aRunKilledAndResumedSeveralTimesEndsLikeTheUninterruptedRun() throws Exception {
        Path whole = tmp.resolve("whole");
        Process p = start(command(whole), tmp.resolve("whole.log"));
        assertTrue(p.waitFor(240, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("whole.log")));
        String expected = summary(whole).get("param_checksum").asText();

        Path killed = tmp.resolve("killed");
        Path log = tmp.resolve("killed.log");
        Random random = new Random(7);
        int kills = 0;
        boolean first = true;
        for (int attempt = 0; attempt < 12; attempt++) {
            Process run = start(first ? command(killed) : command(killed, "--resume"), log);
            first = false;
            // a random moment: once metrics.jsonl reaches a random step (a save may be under way then)
            long target = 20 + random.nextInt(STEPS - 80);
            if (kills < 3 && reaches(run, killed.resolve("metrics.jsonl"), target)) {
                run.destroyForcibly().waitFor();
                kills++;
                if (!Files.exists(killed.resolve("config.json"))) {
                    first = true; // killed before the run directory existed: start it again
                }
                continue;
            }
            assertTrue(run.waitFor(240, TimeUnit.SECONDS));
            assertEquals(0, run.exitValue(), Files.readString(log));
            break;
        }
        assertTrue(kills >= 1, "the harness killed the run at least once:\n" + Files.readString(log));
        String log1 = Files.readString(log);
        assertTrue(!log1.contains("Exception"), log1);

        JsonNode s = summary(killed);
        assertEquals(expected, s.get("param_checksum").asText(), log1);
        assertEquals(STEPS, s.get("steps").asInt());

        List<Long> steps = Files.readAllLines(killed.resolve("metrics.jsonl")).stream()
                .map(l -> {
                    try {
                        return Json.compact().readTree(l).get("step").asLong();
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }).toList();
        List<Long> all = LongStream.range(0, STEPS).boxed().toList();
        assertEquals(all, steps, "metrics.jsonl holds every step once");
        assertEquals(Files.readAllLines(whole.resolve("metrics.jsonl")).stream().map(KillAndResumeTest::withoutTime).toList(),
                Files.readAllLines(killed.resolve("metrics.jsonl")).stream().map(KillAndResumeTest::withoutTime).toList());

        List<Path> eventFiles = EventFileReader.eventFiles(killed);
        List<Long> lossSteps = new ArrayList<>();
        for (Path f : eventFiles) {
            for (Event e : EventFileReader.readAll(f)) {
                if (e.values().stream().anyMatch(v -> v.tag().equals("train/loss"))) {
                    lossSteps.add(e.step());
                }
            }
        }
        lossSteps.sort(null);
        assertEquals(all, lossSteps, "the event files hold train/loss for every step once");
    }

    @Test
    void sigtermSavesACheckpointAtTheStepReachedAndExitsWith143() throws Exception {
        Path run = tmp.resolve("term");
        Path log = tmp.resolve("term.log");
        Process p = start(command(run), log);
        assertTrue(reaches(p, run.resolve("metrics.jsonl"), 100), Files.readString(log));
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(143, p.exitValue(), Files.readString(log));
        long lines = Files.readAllLines(run.resolve("metrics.jsonl")).size();
        assertTrue(lines >= 100 && lines < STEPS, "stopped mid-run at " + lines);
        String newest;
        try (var dirs = Files.list(run.resolve("checkpoints"))) {
            newest = dirs.map(d -> d.getFileName().toString()).filter(n -> n.startsWith("step-")).sorted()
                    .reduce((a, b) -> b).orElseThrow();
        }
        assertEquals(String.format("step-%08d", lines), newest, "a checkpoint at exactly the last finished step");
        assertTrue(Files.readString(log).contains("interrupted by a signal"), Files.readString(log));

        Process resumed = start(command(run, "--resume"), log);
        assertTrue(resumed.waitFor(240, TimeUnit.SECONDS));
        assertEquals(0, resumed.exitValue(), Files.readString(log));
        assertEquals(STEPS, Files.readAllLines(run.resolve("metrics.jsonl")).size());
        assertEquals(lines, summary(run).get("resumed_from_step").asLong());
    }

    /** Waits until the file has {@code lines} lines (true) or the process ended (false). */
    private static boolean reaches(Process run, Path file, long lines) throws Exception {
        while (run.isAlive()) {
            if (Files.exists(file)) {
                try (var stream = Files.lines(file)) {
                    if (stream.count() >= lines) {
                        return true;
                    }
                } catch (java.io.UncheckedIOException partialLine) {
                    // a line being written; look again
                }
            }
            Thread.sleep(5);
        }
        return false;
    }

    private static String withoutTime(String line) {
        return line.replaceAll("\"time_ms\":[0-9.E-]+,?", "");
    }

    private static JsonNode summary(Path run) throws IOException {
        return Json.compact().readTree(run.resolve("summary.json").toFile());
    }
}
