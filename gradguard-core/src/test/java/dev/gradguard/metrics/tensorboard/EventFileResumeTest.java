package dev.gradguard.metrics.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EventFileResumeTest {
    @TempDir
    Path dir;

    @Test
    void aResumedFileKeepsTheStepsBeforeTheCheckpointOnceAndAppendsTheRest() throws Exception {
        Path file;
        long atCheckpoint;
        try (EventFileWriter w = new EventFileWriter(dir, Duration.ofHours(1))) {
            file = w.file();
            for (int step = 0; step < 6; step++) {
                w.addScalar("train/loss", step, step, 1.0);
            }
            atCheckpoint = w.flushedLength();
            assertEquals(Files.size(file), atCheckpoint);
            for (int step = 6; step < 9; step++) {
                w.addScalar("train/loss", step, step, 1.0); // lost to a crash: these steps run again
            }
        }
        try (EventFileWriter w = EventFileWriter.resume(file, atCheckpoint, Duration.ZERO)) {
            for (int step = 6; step < 12; step++) {
                w.addScalar("train/loss", 100 + step, step, 2.0);
            }
        }
        List<Event> events = EventFileReader.readAll(file);
        assertEquals("brain.Event:2", events.get(0).fileVersion().orElseThrow());
        List<Long> steps = events.subList(1, events.size()).stream().map(Event::step).toList();
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L), steps);
        assertEquals(106.0, events.get(7).values().get(0).scalar().orElseThrow());
    }

    @Test
    void resumingPastTheEndIsRefused() throws Exception {
        Path file;
        try (EventFileWriter w = new EventFileWriter(dir)) {
            file = w.file();
        }
        long size = Files.size(file);
        assertEquals("cannot resume " + file + " at byte " + (size + 1) + ": it holds " + size,
                assertThrows(IllegalArgumentException.class,
                        () -> EventFileWriter.resume(file, size + 1, Duration.ZERO)).getMessage());
    }

    @Test
    void anEventFileThatIsASymbolicLinkIsNeitherCutBackNorAppendedTo() throws Exception {
        Path mine = Files.writeString(dir.resolve("mine.txt"), "x".repeat(500));
        Path link = Files.createSymbolicLink(dir.resolve("events.out.tfevents.1.host.2.0"), mine);
        String expected = link + ": is a symbolic link; gradguard writes its own files, never through a link";
        assertEquals(expected, assertThrows(FileSystemException.class,
                () -> EventFileWriter.checkResumable(link, 100)).getMessage());
        assertEquals(expected, assertThrows(FileSystemException.class,
                () -> EventFileWriter.resume(link, 100, Duration.ZERO)).getMessage());
        assertEquals("x".repeat(500), Files.readString(mine));
    }
}
