package dev.gradguard.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.guard.Skip;
import dev.gradguard.guard.SkipReason;
import dev.gradguard.train.StepResult;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The writer's thread writes every step given to it, in order, and a failed write reaches the caller. */
class MetricsJsonlWriterTest {
    @TempDir
    Path tmp;

    private static StepResult step(long i) {
        Optional<Skip> skip = i % 7 == 3
                ? Optional.of(new Skip(SkipReason.NON_FINITE_GRADIENT, "gradient norm is NaN at step " + i + " \"quoted\""))
                : Optional.empty();
        return new StepResult(i, i % 11 == 5 ? Double.NaN : 1.0 / (i + 1), 0.1,
                new StepResult.Gradients(2.0 + i, 1.0, true, 1.0 / (2.0 + i)), skip, Optional.empty(),
                StepResult.Diagnostics.none(), 12.5);
    }

    private static String line(StepResult r) throws Exception {
        return Json.compact().writeValueAsString(MetricsJsonlWriter.toMap(r));
    }

    @Test
    void lengthWaitsForEveryStepGivenSoFarInOrder() throws Exception {
        Path file = tmp.resolve("metrics.jsonl");
        try (MetricsJsonlWriter metrics = new MetricsJsonlWriter(file)) {
            List<String> expected = new ArrayList<>();
            for (int part = 0; part < 3; part++) {
                for (int i = 0; i < 700; i++) { // more than the queue holds: onStep waits for room
                    StepResult r = step(part * 700L + i);
                    metrics.onStep(r);
                    expected.add(line(r));
                }
                long length = metrics.length();
                assertEquals(Files.size(file), length);
                assertEquals(expected, Files.readAllLines(file, StandardCharsets.UTF_8));
            }
        }
    }

    @Test
    void closeWritesTheLastStepsAndEndsTheThread() throws Exception {
        Path file = tmp.resolve("metrics.jsonl");
        MetricsJsonlWriter metrics = new MetricsJsonlWriter(file);
        for (int i = 0; i < 50; i++) {
            metrics.onStep(step(i));
        }
        metrics.close();
        metrics.close(); // a second close does nothing
        assertEquals(50, Files.readAllLines(file).size());
        assertEquals(line(step(49)), Files.readAllLines(file).get(49));
        assertFalse(Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals("gradguard-metrics " + file.getFileName())), "writer thread ended");
        assertThrows(IllegalStateException.class, () -> metrics.onStep(step(50)));
    }

    /** An interrupt does not cut a wait short (a step would be lost) and is still there when the call returns. */
    @Test
    void anInterruptedCallerLosesNoStepAndKeepsItsInterrupt() throws Exception {
        Path file = tmp.resolve("metrics.jsonl");
        try (MetricsJsonlWriter metrics = new MetricsJsonlWriter(file)) {
            Thread.currentThread().interrupt();
            for (int i = 0; i < 1500; i++) { // more than the queue holds, so that onStep waits for room too
                metrics.onStep(step(i));
            }
            long length = metrics.length();
            assertTrue(Thread.interrupted(), "the interrupt is kept (and cleared here)");
            assertEquals(Files.size(file), length);
            assertEquals(1500, Files.readAllLines(file).size());
        }
    }

    @Test
    void resumeAppendsAfterTheKeptBytes() throws Exception {
        Path file = tmp.resolve("metrics.jsonl");
        long kept;
        try (MetricsJsonlWriter metrics = new MetricsJsonlWriter(file)) {
            metrics.onStep(step(0));
            metrics.onStep(step(1));
            kept = metrics.length();
            metrics.onStep(step(2));
        }
        try (MetricsJsonlWriter metrics = MetricsJsonlWriter.resume(file, kept)) {
            metrics.onStep(step(7));
        }
        assertEquals(List.of(line(step(0)), line(step(1)), line(step(7))), Files.readAllLines(file));
    }

    /** A disk that fills up: the next call after the failed write says so, and so does close. */
    @Test
    void aFailedWriteIsReportedByTheNextCall() throws Exception {
        Path disk = Files.createDirectories(tmp.resolve("disk"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", disk.toString())
                .redirectErrorStream(true).start();
        String output = new String(mount.getInputStream().readAllBytes());
        Assumptions.assumeTrue(mount.waitFor(30, TimeUnit.SECONDS) && mount.exitValue() == 0,
                "a 16 KiB tmpfs cannot be mounted here (needs root): " + output.strip());
        try {
            MetricsJsonlWriter metrics = new MetricsJsonlWriter(disk.resolve("metrics.jsonl"));
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> {
                for (int i = 0; i < 100_000; i++) {
                    metrics.onStep(step(i));
                    if (i % 100 == 99) {
                        metrics.length();
                    }
                }
            });
            assertTrue(e.getMessage().startsWith("could not write metrics: "), e.getMessage());
            assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
            assertThrows(UncheckedIOException.class, metrics::close);
        } finally {
            new ProcessBuilder("umount", disk.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void resumeRefusesALinkOrAShortFileAndChangesNothing() throws Exception {
        Path mine = Files.writeString(tmp.resolve("mine.txt"), "y".repeat(300));
        Path link = Files.createSymbolicLink(tmp.resolve("metrics.jsonl"), mine);
        String expected = link + ": is a symbolic link; gradguard writes its own files, never through a link";
        assertEquals(expected, assertThrows(FileSystemException.class,
                () -> MetricsJsonlWriter.resume(link, 100)).getMessage());
        assertEquals(expected, assertThrows(FileSystemException.class, () -> new MetricsJsonlWriter(link)).getMessage());
        assertEquals("y".repeat(300), Files.readString(mine));

        Path own = Files.writeString(tmp.resolve("own.jsonl"), "z".repeat(50));
        assertEquals("cannot resume " + own + " at byte 51: it holds 50", assertThrows(IllegalArgumentException.class,
                () -> MetricsJsonlWriter.checkResumable(own, 51)).getMessage());
        MetricsJsonlWriter.checkResumable(own, 50);
        Path absent = tmp.resolve("absent.jsonl");
        assertThrows(IllegalArgumentException.class, () -> MetricsJsonlWriter.resume(absent, 1));
        assertFalse(Files.exists(absent), "a refused resume creates nothing");
        assertEquals("z".repeat(50), Files.readString(own));
    }
}
