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
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Follows a {@code metrics.jsonl} that a training run is appending to: each {@link #rows()} reads only the
 * bytes added since the last call, up to the last complete line (a line still being written waits for its
 * newline). When the file is replaced or shrinks (a run started again with {@code --overwrite}), it is read
 * again from the start. Lines that do not parse are left out.
 *
 * <p>Thread-safe.
 */
final class MetricsTail {
    private final Path file;
    private final List<MetricsRow> rows = new ArrayList<>();
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private Object fileKey;
    private long offset;

    MetricsTail(Path file) {
        this.file = file;
    }

    /** Every complete row so far, in file order (a snapshot). */
    synchronized List<MetricsRow> rows() throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        if (!Objects.equals(attributes.fileKey(), fileKey) || attributes.size() < offset) {
            rows.clear();
            partial.reset();
            offset = 0;
            fileKey = attributes.fileKey();
        }
        if (attributes.size() > offset) {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
                channel.position(offset);
                int n;
                while ((n = channel.read(buffer)) > 0) {
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
                partial.write(bytes, start, i - start);
                String line = partial.toString(StandardCharsets.UTF_8);
                partial.reset();
                start = i + 1;
                if (!line.isBlank()) {
                    try {
                        rows.add(MetricsRow.parse(line));
                    } catch (IllegalArgumentException malformed) {
                        // a line that does not parse is not a step; the live view shows the rest
                    }
                }
            }
        }
        partial.write(bytes, start, length - start);
    }
}
