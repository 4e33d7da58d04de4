package dev.gradguard.serve;

import dev.gradguard.report.MetricsRow;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Objects;

/**
 * Follows a {@code metrics.jsonl} that a training run is appending to, in bounded memory whatever the file's
 * size: each {@link #rows()} reads only the bytes added since the last call, up to the last complete line (a
 * line still being written waits for its newline), and keeps the most recent {@link #MAX_ROWS} rows.
 * <ul>
 *   <li>When more than {@link #MAX_READ_BYTES} are new (a first look at a large file, or a file that grew by
 *       that much between two looks), only its last {@link #MAX_READ_BYTES} are read, from the first line
 *       that starts there: the dashboard shows the end of a huge run, never loads it whole.</li>
 *   <li>A line longer than {@link #MAX_LINE_BYTES} (no run writes one: binary junk, a file of zeros) is
 *       skipped up to its newline.</li>
 *   <li>When the file is replaced or shrinks (a run started again with {@code --overwrite}), it is read again
 *       from the start. Lines that do not parse are left out.</li>
 * </ul>
 *
 * <p>Thread-safe.
 */
final class MetricsTail {
    /** The most rows kept (the latest); a row takes about 100 bytes of heap. */
    static final int MAX_ROWS = 50_000;
    /** The most bytes read in one look; a run writes about 250 bytes a step. */
    static final long MAX_READ_BYTES = 16L << 20;
    /** The longest line read; longer ones are skipped. */
    static final int MAX_LINE_BYTES = 64 << 10;

    private final Path file;
    private final ArrayDeque<MetricsRow> rows = new ArrayDeque<>();
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    /** Skipping up to the next newline: the bytes since the last one are not the start of a line. */
    private boolean skippingLine;
    private Object fileKey;
    private long offset;

    MetricsTail(Path file) {
        this.file = file;
    }

    /** The complete rows read so far, at most {@link #MAX_ROWS} of the latest, in file order (a snapshot). */
    synchronized List<MetricsRow> rows() throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        long size = attributes.size();
        if (!Objects.equals(attributes.fileKey(), fileKey) || size < offset) {
            rows.clear();
            partial.reset();
            skippingLine = false;
            offset = 0;
            fileKey = attributes.fileKey();
        }
        if (size - offset > MAX_READ_BYTES) {
            offset = size - MAX_READ_BYTES;
            partial.reset();
            skippingLine = true; // we land inside a line: what comes before the next newline is not one
        }
        if (size > offset) {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
                channel.position(offset);
                long end = offset + MAX_READ_BYTES;
                int n;
                while (offset < end && (n = channel.read(buffer)) > 0) {
                    offset += n;
                    consume(buffer.array(), n);
                    buffer.clear();
                }
            }
        }
        return List.copyOf(rows);
    }

    private void consume(byte[] bytes, int length) {
        int start = 0;
        for (int i = 0; i < length; i++) {
            if (bytes[i] == '\n') {
                if (!skippingLine) {
                    partial.write(bytes, start, i - start);
                    addLine(partial.toString(StandardCharsets.UTF_8));
                }
                partial.reset();
                skippingLine = false;
                start = i + 1;
            }
        }
        if (!skippingLine && partial.size() + (length - start) > MAX_LINE_BYTES) {
            partial.reset();
            skippingLine = true;
        }
        if (!skippingLine) {
            partial.write(bytes, start, length - start);
        }
    }

    private void addLine(String line) {
        if (line.isBlank()) {
            return;
        }
        try {
            rows.addLast(MetricsRow.parse(line));
        } catch (IllegalArgumentException malformed) {
            return; // a line that does not parse is not a step; the live view shows the rest
        }
        if (rows.size() > MAX_ROWS) {
            rows.removeFirst();
        }
    }
}
