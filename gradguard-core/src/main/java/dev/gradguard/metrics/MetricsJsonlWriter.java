package dev.gradguard.metrics;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.gradguard.io.RegularFiles;
import dev.gradguard.train.StepResult;
import dev.gradguard.train.TrainingListener;
import dev.gradguard.train.TrainingOutcome;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;

/**
 * Writes {@code metrics.jsonl}: one JSON object per step with {@code step, loss, grad_norm,
 * grad_norm_clipped, clipped, clip_coef, lr, skipped, time_ms}, plus {@code loss_scale} (the scale this
 * step's loss was multiplied by) in fp16 runs, {@code nonfinite}, {@code skip_reason} (one readable line) and
 * {@code skip_code} (a {@link dev.gradguard.guard.SkipReason#code()}) on skipped steps, {@code attribution} (trigger, nonfinite_layers, top_layers) on
 * non-finite, skipped and hard-clipped steps, and {@code control} (kind, old, new, reason) on steps where
 * the controller changed something.
 *
 * <p>Lines are formatted and written by the writer's own thread, off the training thread (formatting and the
 * write call took 0.2-0.4 ms of a 15-25 ms step there, where the step's native work leaves the caches cold). The
 * thread writes the steps in order and hands the file to the operating system whenever it has written every
 * step it was given, so a killed run leaves every finished step on disk but the one or two in flight.
 * {@link #length()}, {@link #onTrainEnd} and {@link #close()} wait until every step given so far is in the file. A
 * write that fails (a full disk) is reported by the next call on the writer, as an {@link UncheckedIOException};
 * the lines after it are dropped.
 */
public final class MetricsJsonlWriter implements TrainingListener, Closeable {
    /** Steps that may wait for the writer thread before {@link #onStep} waits for room. */
    private static final int QUEUE_CAPACITY = 1024;
    private static final Object STOP = new Object();

    private final Path file;
    private final BufferedWriter out; // the writer thread's alone until it has stopped
    private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    private final Thread writer;
    private volatile RuntimeException failure;
    private boolean closed;

    /**
     * Creates (or appends to) the file.
     *
     * @throws FileSystemException when {@code file} exists but is not a regular file (a named pipe would block),
     *     or is a symbolic link (see {@link RegularFiles#openToWrite})
     */
    public MetricsJsonlWriter(Path file) throws IOException {
        this(file, openToAppend(file));
    }

    private MetricsJsonlWriter(Path file, FileChannel channel) {
        this.file = file;
        this.out = new BufferedWriter(Channels.newWriter(channel, StandardCharsets.UTF_8));
        this.writer = new Thread(this::writeLines, "gradguard-metrics " + file.getFileName());
        writer.setDaemon(true);
        writer.start();
    }

    /**
     * Continues a run's file after a restart: keeps its first {@code keepBytes} bytes (what {@link #length()}
     * said when the checkpoint was taken) and appends from there, so every step appears once.
     *
     * @throws IllegalArgumentException when the file is shorter than {@code keepBytes}; nothing is changed
     * @throws FileSystemException when {@code file} is not a regular file or is a symbolic link; nothing is changed
     */
    public static MetricsJsonlWriter resume(Path file, long keepBytes) throws IOException {
        checkResumable(file, keepBytes);
        FileChannel channel = openToAppend(file);
        try {
            channel.truncate(keepBytes);
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        return new MetricsJsonlWriter(file, channel);
    }

    private static FileChannel openToAppend(Path file) throws IOException {
        return RegularFiles.openToWrite(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /**
     * Checks, changing nothing, that {@link #resume} can continue {@code file} at {@code keepBytes}: so that a
     * caller resuming several files can refuse before it cuts any of them back.
     *
     * @throws IllegalArgumentException when the file is shorter than {@code keepBytes} (an absent file holds 0)
     * @throws FileSystemException when {@code file} is not a regular file or is a symbolic link
     */
    public static void checkResumable(Path file, long keepBytes) throws IOException {
        RegularFiles.requireRegularOrAbsent(file);
        long size = Files.exists(file) ? Files.size(file) : 0;
        if (keepBytes < 0 || keepBytes > size) {
            throw new IllegalArgumentException("cannot resume " + file + " at byte " + keepBytes + ": it holds " + size);
        }
    }

    /** The file's length in bytes: every step given to {@link #onStep} so far, written. */
    public long length() throws IOException {
        awaitWritten();
        return Files.size(file);
    }

    /** The step as the map written on its line. */
    public static Map<String, Object> toMap(StepResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", r.step());
        m.put("loss", Json.number(r.loss()));
        m.put("grad_norm", Json.number(r.gradients().norm()));
        m.put("grad_norm_clipped", Json.number(r.gradients().clippedNorm()));
        m.put("clipped", r.gradients().clipped());
        m.put("clip_coef", Json.number(r.gradients().clipCoef()));
        m.put("lr", Json.number(r.lr()));
        r.diagnostics().lossScale().ifPresent(scale -> m.put("loss_scale", Json.number(scale)));
        m.put("skipped", r.skipped());
        m.put("time_ms", Math.round(r.timeMs() * 1000.0) / 1000.0);
        r.skip().ifPresent(skip -> {
            m.put("nonfinite", skip.reason().nonFinite());
            m.put("skip_reason", skip.detail());
            m.put("skip_code", skip.reason().code());
        });
        r.diagnostics().attribution().ifPresent(a -> {
            Map<String, Object> at = new LinkedHashMap<>();
            at.put("trigger", a.trigger());
            at.put("nonfinite_layers", a.nonFiniteLayers());
            at.put("top_layers", a.topLayers().stream().map(l -> {
                Map<String, Object> layer = new LinkedHashMap<>();
                layer.put("name", l.name());
                layer.put("norm", Json.number(l.norm()));
                return layer;
            }).toList());
            m.put("attribution", at);
        });
        if (!r.diagnostics().control().isEmpty()) {
            m.put("control", r.diagnostics().control().stream().map(d -> {
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("kind", d.kind().name().toLowerCase(java.util.Locale.ROOT));
                c.put("old", Json.number(d.oldValue()));
                c.put("new", Json.number(d.newValue()));
                c.put("reason", d.reason());
                return c;
            }).toList());
        }
        return m;
    }

    @Override
    public void onStep(StepResult result) {
        rethrowFailure();
        requireOpen();
        if (uninterruptibly(() -> queue.put(result))) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void onTrainEnd(TrainingOutcome outcome) {
        awaitWritten();
    }

    /** Waits until every step given so far is written, stops the writer thread and closes the file. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        boolean interrupted = uninterruptibly(() -> queue.put(STOP));
        interrupted |= uninterruptibly(writer::join);
        try {
            out.close(); // flushes what a failed write left in the buffer, which fails again
        } catch (IOException e) {
            if (failure == null) {
                failure = new UncheckedIOException("could not write metrics: " + e.getMessage(), e);
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        rethrowFailure();
    }

    /** Waits until the writer thread has written, and handed to the system, every step given before this call. */
    private void awaitWritten() {
        requireOpen();
        CountDownLatch written = new CountDownLatch(1);
        boolean interrupted = uninterruptibly(() -> queue.put(written));
        interrupted |= uninterruptibly(written::await);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        rethrowFailure();
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the metrics writer for " + file + " is closed");
        }
    }

    /** A wait that an interrupt can end early. */
    @FunctionalInterface
    private interface Wait {
        void run() throws InterruptedException;
    }

    /**
     * Runs {@code wait} to its end, waiting again when interrupted (no step given may be lost); returns whether it
     * was interrupted, for the caller to restore the interrupt when it is done.
     */
    private static boolean uninterruptibly(Wait wait) {
        boolean interrupted = false;
        while (true) {
            try {
                wait.run();
                return interrupted;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
    }

    private void rethrowFailure() {
        RuntimeException f = failure;
        if (f != null) {
            throw f;
        }
    }

    /** The writer thread: writes steps in order, flushes when it has caught up, answers waits, stops on STOP. */
    private void writeLines() {
        while (true) {
            Object item;
            try {
                item = queue.take();
            } catch (InterruptedException e) {
                continue; // only close() ends the thread, so that no given step is lost
            }
            if (item == STOP) {
                flushUnlessFailed();
                return;
            }
            if (item instanceof CountDownLatch written) {
                flushUnlessFailed();
                written.countDown();
            } else if (failure == null) {
                try {
                    write((StepResult) item);
                    if (queue.isEmpty()) {
                        flushUnlessFailed();
                    }
                } catch (RuntimeException | Error e) { // the thread stays, so that waits and close still end
                    failure = new IllegalStateException("the metrics writer failed: " + e, e);
                }
            }
        }
    }

    private void write(StepResult result) {
        try {
            out.write(Json.compact().writeValueAsString(toMap(result)));
            out.write('\n');
        } catch (JsonProcessingException e) {
            failure = new IllegalStateException("a step result could not be written as JSON", e);
        } catch (IOException e) {
            failure = new UncheckedIOException("could not write metrics: " + e.getMessage(), e);
        }
    }

    private void flushUnlessFailed() {
        if (failure != null) {
            return;
        }
        try {
            out.flush();
        } catch (IOException e) {
            failure = new UncheckedIOException("could not write metrics: " + e.getMessage(), e);
        }
    }
}
