package dev.gradguard.session;

import dev.gradguard.train.Trainer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Turns SIGINT and SIGTERM into an orderly stop: a JVM shutdown hook asks the trainer to stop after the
 * step in progress, then waits (up to {@value #GRACE_SECONDS} s) until the run has saved its checkpoint
 * and flushed its metrics ({@link #close()}). The JVM then exits with 130 (SIGINT) or 143 (SIGTERM), as
 * the shell convention for a signal has it. SIGKILL cannot be caught; checkpoints cover that.
 */
final class StopOnSignal implements AutoCloseable {
    static final long GRACE_SECONDS = 120;

    private final CountDownLatch saved = new CountDownLatch(1);
    private final Thread hook;
    private volatile boolean requested;

    private StopOnSignal(Trainer trainer) {
        this.hook = trainer == null ? null : new Thread(() -> {
            requested = true;
            trainer.requestStop("interrupted by a signal");
            try {
                saved.await(GRACE_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "gradguard-stop-on-signal");
    }

    /** No signal handling: {@link #requested()} stays false. */
    static StopOnSignal none() {
        return new StopOnSignal(null);
    }

    static StopOnSignal install(Trainer trainer) {
        StopOnSignal s = new StopOnSignal(trainer);
        Runtime.getRuntime().addShutdownHook(s.hook);
        return s;
    }

    /** Whether a signal asked the run to stop. */
    boolean requested() {
        return requested;
    }

    /** The run's state is safe on disk: the hook may let the JVM exit; without a signal, the hook is removed. */
    @Override
    public void close() {
        saved.countDown();
        if (hook != null && !requested) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // a signal arrived just now; the hook finds the latch open and returns at once
            }
        }
    }
}
