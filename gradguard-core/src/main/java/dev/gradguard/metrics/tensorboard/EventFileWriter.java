package dev.gradguard.metrics.tensorboard;

import dev.gradguard.io.RegularFiles;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Writes one TensorBoard event file, {@code events.out.tfevents.<unix seconds>.<host>.<pid>.<counter>}, in a
 * log directory: the {@code brain.Event:2} header first, then one event per scalar or histogram.
 *
 * <p>Buffering: records collect in memory and go to the file whole, when a write finds the flush interval
 * (default 2 s) passed since the last flush, when 1 MiB is pending, on {@link #flush()} and on
 * {@link #close()}. The interval is checked on writes only (no timer thread), so records added just before a
 * long pause wait for the next write or {@link #flush()}. The file never holds part of a record, except
 * when the process dies inside the write call itself; readers, TensorBoard's and {@link EventFileReader},
 * skip a truncated final record. Nothing is {@code fsync}ed: a killed process loses at most the pending
 * records, an operating-system crash may lose more.
 *
 * <p>Non-finite scalars are written as they are (NaN and infinities are valid float32 values in protobuf,
 * and TensorBoard shows them); histograms leave non-finite values out ({@link Histogram#of}).
 *
 * <p>Thread-safe: every method holds the writer's lock, so records from several threads never interleave.
 */
public final class EventFileWriter implements Closeable {
    public static final Duration DEFAULT_FLUSH_INTERVAL = Duration.ofSeconds(2);

    private static final int MAX_PENDING_BYTES = 1 << 20;
    /** TensorFlow's {@code _global_uid}: files one process opens in the same second get distinct names. */
    private static final AtomicLong FILE_COUNTER = new AtomicLong();

    private final Path file;
    private final OutputStream out;
    private long written;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private final long flushIntervalNanos;
    private final LongSupplier nanoClock;
    private long lastFlushNanos;
    private boolean closed;

    /** A writer with the default flush interval; see {@link #EventFileWriter(Path, Duration)}. */
    public EventFileWriter(Path logDir) throws IOException {
        this(logDir, DEFAULT_FLUSH_INTERVAL);
    }

    /**
     * Creates the log directory if needed and a new event file in it, and writes the header.
     *
     * @param flushInterval how long records may wait in memory; zero writes each record at once
     * @throws IllegalArgumentException when {@code flushInterval} is negative
     * @throws IOException when the directory or file cannot be created
     */
    public EventFileWriter(Path logDir, Duration flushInterval) throws IOException {
        this(logDir, flushInterval, System::nanoTime);
    }

    EventFileWriter(Path logDir, Duration flushInterval, LongSupplier nanoClock) throws IOException {
        if (flushInterval.isNegative()) {
            throw new IllegalArgumentException("flushInterval must be zero or positive, got " + flushInterval);
        }
        this.flushIntervalNanos = flushInterval.toNanos();
        this.nanoClock = nanoClock;
        Instant now = Instant.now();
        Files.createDirectories(logDir);
        this.file = logDir.resolve(fileName(now.getEpochSecond(), hostName(), ProcessHandle.current().pid(),
                FILE_COUNTER.getAndIncrement()));
        this.out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        pending.writeBytes(RecordFormat.frame(EventCodec.fileVersion(seconds(now))));
        flush();
    }

    private EventFileWriter(Path file, long keepBytes, Duration flushInterval) throws IOException {
        if (flushInterval.isNegative()) {
            throw new IllegalArgumentException("flushInterval must be zero or positive, got " + flushInterval);
        }
        this.flushIntervalNanos = flushInterval.toNanos();
        this.nanoClock = System::nanoTime;
        this.file = file;
        checkResumable(file, keepBytes);
        FileChannel channel = RegularFiles.openToWrite(file, StandardOpenOption.APPEND);
        try {
            channel.truncate(keepBytes);
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        this.out = Channels.newOutputStream(channel);
        this.written = keepBytes;
        this.lastFlushNanos = nanoClock.getAsLong();
    }

    /**
     * Continues an existing event file after a restart: keeps its first {@code keepBytes} bytes (the
     * length {@link #flushedLength()} reported when a checkpoint was taken), drops anything after them (events
     * of steps that will run again), and appends from there, so TensorBoard sees every step once.
     *
     * @throws IllegalArgumentException when the file is shorter than {@code keepBytes}; nothing is changed
     * @throws FileSystemException when {@code file} is not a regular file or is a symbolic link; nothing is changed
     * @throws IOException when the file cannot be opened
     */
    public static EventFileWriter resume(Path file, long keepBytes, Duration flushInterval) throws IOException {
        return new EventFileWriter(file, keepBytes, flushInterval);
    }

    /**
     * Checks, changing nothing, that {@link #resume} can continue {@code file} at {@code keepBytes}: so that a
     * caller resuming several files can refuse before it cuts any of them back.
     *
     * @throws IllegalArgumentException when the file is shorter than {@code keepBytes}
     * @throws FileSystemException when {@code file} is not a regular file or is a symbolic link
     * @throws IOException when the file is missing or cannot be read
     */
    public static void checkResumable(Path file, long keepBytes) throws IOException {
        RegularFiles.requireRegularOrAbsent(file); // opening a named pipe to write would block
        long size = Files.size(file);
        if (keepBytes < 0 || keepBytes > size) {
            throw new IllegalArgumentException("cannot resume " + file + " at byte " + keepBytes + ": it holds " + size);
        }
    }

    /** Flushes, then returns the number of bytes in the file: whole records only. */
    public synchronized long flushedLength() throws IOException {
        flush();
        return written;
    }

    /** TensorFlow's event file name, {@code events.out.tfevents.%010d.%s.%d.%d}. */
    static String fileName(long unixSeconds, String host, long pid, long counter) {
        return String.format("events.out.tfevents.%010d.%s.%d.%d", unixSeconds, host, pid, counter);
    }

    /** The file this writer writes. */
    public Path file() {
        return file;
    }

    /**
     * Adds a scalar as {@code simple_value}, a float32 (see {@link EventCodec}).
     *
     * @param wallTime seconds since the Unix epoch
     * @throws IllegalStateException when the writer is closed
     */
    public synchronized void addScalar(String tag, double value, long step, double wallTime) throws IOException {
        add(EventCodec.scalar(Objects.requireNonNull(tag, "tag"), value, step, wallTime));
    }

    /**
     * Adds the histogram of {@code values} over TensorFlow's default buckets ({@link Histogram#of}).
     *
     * @param wallTime seconds since the Unix epoch
     * @throws IllegalArgumentException when {@code values} holds no finite value
     * @throws IllegalStateException when the writer is closed
     */
    public synchronized void addHistogram(String tag, double[] values, long step, double wallTime)
            throws IOException {
        add(EventCodec.histogram(Objects.requireNonNull(tag, "tag"), Histogram.of(values), step, wallTime));
    }

    /**
     * Adds a value that carries only a plugin's data (TensorBoard's {@code SummaryMetadata.plugin_data}).
     *
     * @param wallTime seconds since the Unix epoch
     * @throws IllegalStateException when the writer is closed
     */
    synchronized void addPluginData(String tag, String pluginName, byte[] content, long step, double wallTime)
            throws IOException {
        add(EventCodec.pluginData(tag, pluginName, content, step, wallTime));
    }

    /** Writes the pending records to the file. */
    public synchronized void flush() throws IOException {
        if (pending.size() > 0) {
            pending.writeTo(out);
            written += pending.size();
            pending.reset();
            out.flush();
        }
        lastFlushNanos = nanoClock.getAsLong();
    }

    /** Flushes and closes the file; closing again does nothing. */
    @Override
    public synchronized void close() throws IOException {
        if (!closed) {
            closed = true;
            try (out) {
                flush();
            }
        }
    }

    private void add(byte[] event) throws IOException {
        if (closed) {
            throw new IllegalStateException("the event file " + file + " is closed");
        }
        pending.writeBytes(RecordFormat.frame(event));
        if (pending.size() >= MAX_PENDING_BYTES || nanoClock.getAsLong() - lastFlushNanos >= flushIntervalNanos) {
            flush();
        }
    }

    /** {@code t} as a wall time: seconds since the Unix epoch. */
    static double seconds(Instant t) {
        return t.getEpochSecond() + t.getNano() / 1e9;
    }

    /** The host name with anything but letters, digits, '.', '-' and '_' replaced, so it is safe in a name. */
    private static String hostName() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "localhost";
        }
        return host.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
