package dev.gradguard.metrics.tensorboard;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Reads the events of one event file in order, checking both CRCs of every record. Iteration ends at the
 * end of the file or, quietly, at a truncated final record (one still being written, or cut off when its
 * writer died), as TensorBoard's reader does. A record whose checksum does not match, or whose data is not a
 * well-formed {@code Event}, throws {@link CorruptEventFileException} naming the file and the record's offset.
 *
 * <p>Not thread-safe.
 */
public final class EventFileReader implements Iterator<Event>, Closeable {
    /** Above this length a record's size is checked against the file's before its buffer is allocated. */
    private static final long CHECK_SIZE_ABOVE = 1 << 20;
    /** The largest byte array every JVM allocates. */
    private static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private final Path file;
    private final InputStream in;
    private long offset;
    private Optional<Event> next = Optional.empty();
    private boolean ended;

    private EventFileReader(Path file) throws IOException {
        this.file = file;
        this.in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    }

    /** Opens {@code file} for reading; close the reader when done. */
    public static EventFileReader open(Path file) throws IOException {
        return new EventFileReader(file);
    }

    /**
     * All events of {@code file}, in order.
     *
     * @throws CorruptEventFileException when a record is corrupt
     */
    public static List<Event> readAll(Path file) throws IOException {
        List<Event> events = new ArrayList<>();
        try (EventFileReader reader = open(file)) {
            reader.forEachRemaining(events::add);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        return events;
    }

    /** The event files ({@code *tfevents*}, as TensorBoard finds them) directly in {@code logDir}, by name. */
    public static List<Path> eventFiles(Path logDir) throws IOException {
        try (Stream<Path> files = Files.list(logDir)) {
            return files.filter(p -> p.getFileName().toString().contains("tfevents") && Files.isRegularFile(p))
                    .sorted().toList();
        }
    }

    /**
     * @throws CorruptEventFileException when the next record is corrupt
     * @throws UncheckedIOException when the file cannot be read
     */
    @Override
    public boolean hasNext() {
        if (next.isEmpty() && !ended) {
            try {
                next = readRecord();
            } catch (IOException e) {
                throw new UncheckedIOException("could not read " + file + ": " + e.getMessage(), e);
            }
            ended = next.isEmpty();
        }
        return next.isPresent();
    }

    /** The next event; see {@link #hasNext()} for what it throws. */
    @Override
    public Event next() {
        if (!hasNext()) {
            throw new NoSuchElementException("no more events in " + file);
        }
        Event event = next.get();
        next = Optional.empty();
        return event;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    /** The next record's event; empty at the end of the file or at a truncated record. */
    private Optional<Event> readRecord() throws IOException {
        long start = offset;
        byte[] header = new byte[RecordFormat.HEADER_BYTES];
        if (read(header) < header.length) {
            return Optional.empty();
        }
        ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        long length = h.getLong(0);
        int lengthCrc = RecordFormat.maskedCrc32c(header, 0, Long.BYTES);
        if (lengthCrc != h.getInt(Long.BYTES)) {
            throw corrupt(start, "length checksum " + hex(h.getInt(Long.BYTES)) + " does not match the length's "
                    + hex(lengthCrc));
        }
        if (length < 0 || length > MAX_ARRAY_LENGTH) {
            throw corrupt(start, "record length " + Long.toUnsignedString(length) + " is too large to read");
        }
        if (length > CHECK_SIZE_ABOVE && start + header.length + length + RecordFormat.FOOTER_BYTES > Files.size(file)) {
            return Optional.empty();
        }
        byte[] data = new byte[(int) length];
        byte[] footer = new byte[RecordFormat.FOOTER_BYTES];
        if (read(data) < data.length || read(footer) < footer.length) {
            return Optional.empty();
        }
        int stored = ByteBuffer.wrap(footer).order(ByteOrder.LITTLE_ENDIAN).getInt();
        int dataCrc = RecordFormat.maskedCrc32c(data, 0, data.length);
        if (dataCrc != stored) {
            throw corrupt(start, "data checksum " + hex(stored) + " does not match the data's " + hex(dataCrc));
        }
        try {
            return Optional.of(EventCodec.decode(data));
        } catch (ProtoReader.MalformedException e) {
            throw corrupt(start, "not a well-formed Event: " + e.getMessage());
        }
    }

    /** Reads until {@code buf} is full or the file ends; the number of bytes read. */
    private int read(byte[] buf) throws IOException {
        int n = in.readNBytes(buf, 0, buf.length);
        offset += n;
        return n;
    }

    private CorruptEventFileException corrupt(long at, String problem) {
        return new CorruptEventFileException(file, at, problem);
    }

    private static String hex(int crc) {
        return String.format("0x%08x", crc);
    }
}
