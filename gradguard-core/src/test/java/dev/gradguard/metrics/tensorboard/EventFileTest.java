package dev.gradguard.metrics.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EventFileTest {
    private static final double[] VALUES = {0.5, -2.0, 3.25, 0.0, 1e-3, 3.25};

    @TempDir
    Path dir;

    /** A header, two scalars and a histogram; returns the file. */
    private Path writeSample() throws IOException {
        try (EventFileWriter w = new EventFileWriter(dir, Duration.ofSeconds(2))) {
            w.addScalar("loss", 0.75, 0, 100.5);
            w.addScalar("loss", Double.NaN, 1, 101.5);
            w.addHistogram("norms", VALUES, 1, 101.5);
            return w.file();
        }
    }

    @Test
    void scalarsAndHistogramsReadBackWithTheirStepsTagsAndStatistics() throws IOException {
        List<Event> events = EventFileReader.readAll(writeSample());
        assertEquals(4, events.size());

        Event header = events.get(0);
        assertEquals(Optional.of("brain.Event:2"), header.fileVersion());
        assertTrue(Math.abs(header.wallTime() - System.currentTimeMillis() / 1e3) < 60, "header wall time is now");
        assertEquals(List.of(), header.values());

        assertEquals(100.5, events.get(1).wallTime());
        assertEquals(0, events.get(1).step());
        assertEquals("loss", events.get(1).values().get(0).tag());
        assertEquals(0.75, events.get(1).values().get(0).scalar().getAsDouble());
        assertEquals(1, events.get(2).step());
        assertTrue(Double.isNaN(events.get(2).values().get(0).scalar().getAsDouble()), "NaN is written as it is");

        SummaryValue histo = events.get(3).values().get(0);
        assertEquals("norms", histo.tag());
        assertTrue(histo.scalar().isEmpty());
        Histogram h = histo.histogram().orElseThrow();
        assertEquals(Histogram.of(VALUES), h);
        assertEquals(-2.0, h.min());
        assertEquals(3.25, h.max());
        assertEquals(6, h.num());
        assertEquals(6.0, h.num(), h.bucketCounts().stream().mapToDouble(Double::doubleValue).sum());
        assertEquals(0.5 - 2.0 + 3.25 + 0.0 + 1e-3 + 3.25, h.sum(), 1e-12);
        assertEquals(0.25 + 4.0 + 2 * 3.25 * 3.25 + 1e-6, h.sumSquares(), 1e-12);
    }

    @Test
    void theFileIsNamedAsTensorFlowNamesEventFiles() throws IOException {
        long before = System.currentTimeMillis() / 1000;
        Path first = writeSample();
        Path second = writeSample();
        Matcher m = Pattern.compile("events\\.out\\.tfevents\\.(\\d{10})\\.([A-Za-z0-9._-]+)\\.(\\d+)\\.(\\d+)")
                .matcher(first.getFileName().toString());
        assertTrue(m.matches(), first.getFileName().toString());
        long seconds = Long.parseLong(m.group(1));
        assertTrue(seconds >= before && seconds <= before + 60, m.group(1));
        assertEquals(ProcessHandle.current().pid(), Long.parseLong(m.group(3)));
        assertNotEquals(first, second, "the counter keeps names apart within a second");
        assertEquals(List.of(first, second).stream().sorted().toList(), EventFileReader.eventFiles(dir));
        assertEquals("events.out.tfevents.0000000042.host.7.3", EventFileWriter.fileName(42, "host", 7, 3));
    }

    @Test
    void recordsWaitForTheFlushIntervalAndGoOutWhole() throws IOException {
        AtomicLong clock = new AtomicLong();
        try (EventFileWriter w = new EventFileWriter(dir, Duration.ofSeconds(2), clock::get)) {
            long headerOnly = Files.size(w.file());
            assertEquals(1, EventFileReader.readAll(w.file()).size(), "the header is on disk at once");
            clock.set(1_000_000_000L);
            w.addScalar("a", 1, 1, 1);
            assertEquals(headerOnly, Files.size(w.file()), "held back before 2 s");
            clock.set(2_000_000_000L);
            w.addScalar("a", 2, 2, 2);
            assertEquals(3, EventFileReader.readAll(w.file()).size(), "both written at 2 s");
            w.addScalar("a", 3, 3, 3);
            w.flush();
            assertEquals(4, EventFileReader.readAll(w.file()).size());
        }
    }

    @Test
    void closingWritesPendingRecordsAndLaterWritesAreRefused() throws IOException {
        EventFileWriter w = new EventFileWriter(dir, Duration.ofHours(1));
        w.addScalar("a", 1, 1, 1);
        w.close();
        w.close();
        assertEquals(2, EventFileReader.readAll(w.file()).size());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.addScalar("a", 2, 2, 2));
        assertEquals("the event file " + w.file() + " is closed", e.getMessage());
    }

    @Test
    void aTruncatedFinalRecordIsIgnored() throws IOException {
        Path file = writeSample();
        long size = Files.size(file);
        truncate(file, size - 3); // inside the histogram record's data CRC
        assertEquals(3, EventFileReader.readAll(file).size());
        long scalarsEnd = recordEnd(file, 2);
        truncate(file, scalarsEnd + 5); // inside the next record's length header
        assertEquals(3, EventFileReader.readAll(file).size());
    }

    @Test
    void aCorruptByteIsReportedWithTheFileAndTheRecordOffset() throws IOException {
        Path file = writeSample();
        long second = recordEnd(file, 0);
        flipByte(file, second + RecordFormat.HEADER_BYTES + 3);
        CorruptEventFileException e = assertThrows(CorruptEventFileException.class,
                () -> EventFileReader.readAll(file));
        assertEquals(file, e.file());
        assertEquals(second, e.offset());
        assertTrue(e.getMessage().startsWith("corrupt event file " + file + ": record at byte " + second
                + ": data checksum 0x"), e.getMessage());

        flipByte(file, second + RecordFormat.HEADER_BYTES + 3);
        flipByte(file, second + 1);
        e = assertThrows(CorruptEventFileException.class, () -> EventFileReader.readAll(file));
        assertTrue(e.getMessage().contains(": length checksum 0x"), e.getMessage());
    }

    /** Where record {@code index} (0-based) ends, from the lengths in the file. */
    private static long recordEnd(Path file, int index) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long pos = 0;
        for (int i = 0; i <= index; i++) {
            long length = ByteBuffer.wrap(bytes, (int) pos, 8).order(ByteOrder.LITTLE_ENDIAN)
                    .getLong();
            pos += RecordFormat.HEADER_BYTES + length + RecordFormat.FOOTER_BYTES;
        }
        return pos;
    }

    private static void truncate(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    private static void flipByte(Path file, long at) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        bytes[(int) at] ^= 0x10;
        Files.write(file, bytes);
    }
}
