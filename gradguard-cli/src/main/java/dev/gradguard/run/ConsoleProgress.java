package dev.gradguard.run;

import dev.gradguard.train.StepResult;
import dev.gradguard.train.Trainer;
import dev.gradguard.train.TrainingListener;
import dev.gradguard.train.TrainingOutcome;
import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Shows training progress: on a terminal, a progress bar redrawn in place at most ten times a second
 * (step, loss, pre-clip gradient norm, clip rate, learning rate, skipped steps, ETA); elsewhere (a log
 * file, CI) one plain line every few seconds. Skipped steps and the controller's decisions are always
 * reported on a line of their own.
 */
public final class ConsoleProgress implements TrainingListener {
    private static final int BAR_WIDTH = 24;
    private final PrintStream out;
    private final boolean terminal;
    private final long intervalNanos;
    private final LongSupplier clock;

    private long totalSteps;
    private long firstStep;
    private long startNanos;
    private long lastPrintNanos;
    private long clipped;
    private long skipped;
    private long seen;
    private StepResult last;

    /**
     * @param out where to write (the CLI uses standard error, keeping standard output for {@code --json})
     * @param terminal true for an in-place progress bar, false for plain periodic lines
     */
    public ConsoleProgress(PrintStream out, boolean terminal) {
        this(out, terminal, terminal ? 100_000_000L : 5_000_000_000L, System::nanoTime);
    }

    ConsoleProgress(PrintStream out, boolean terminal, long intervalNanos, LongSupplier clock) {
        this.out = out;
        this.terminal = terminal;
        this.intervalNanos = intervalNanos;
        this.clock = clock;
    }

    @Override
    public void onTrainStart(Trainer trainer, long totalSteps) {
        this.totalSteps = totalSteps;
        this.firstStep = -1;
        this.startNanos = clock.getAsLong();
        this.lastPrintNanos = startNanos;
    }

    @Override
    public void onStep(StepResult r) {
        if (firstStep < 0) {
            firstStep = r.step();
        }
        seen++;
        last = r;
        if (r.gradients().clipped()) {
            clipped++;
        }
        if (r.skipped()) {
            skipped++;
            clearLine();
            out.printf(Locale.ROOT, "step %d skipped: %s%n", r.step(), r.skip().get().detail());
        }
        if (r.diagnostics().attribution().isPresent()) {
            clearLine();
            out.printf(Locale.ROOT, "step %d layers: %s%n", r.step(), r.diagnostics().attribution().get().describe());
        }
        for (var decision : r.diagnostics().control()) {
            clearLine();
            out.printf(Locale.ROOT, "step %d controller: %s%n", r.step(), decision.reason());
        }
        long now = clock.getAsLong();
        if (now - lastPrintNanos >= intervalNanos) {
            lastPrintNanos = now;
            print(now, false);
        }
    }

    @Override
    public void onTrainEnd(TrainingOutcome outcome) {
        if (last != null) {
            print(clock.getAsLong(), true);
        }
    }

    private void print(long now, boolean end) {
        String line = line(now);
        if (terminal) {
            out.print("\r" + line + "\u001b[K" + (end ? "\n" : ""));
        } else {
            out.println(line);
        }
        out.flush();
    }

    private void clearLine() {
        if (terminal) {
            out.print("\r\u001b[K");
        }
    }

    /** The status line for the latest step. */
    String line(long now) {
        long done = last.step() + 1;
        double fraction = totalSteps == 0 ? 1.0 : Math.min(1.0, (double) done / totalSteps);
        double elapsed = (now - startNanos) / 1e9;
        long doneHere = done - firstStep;
        double eta = doneHere <= 0 ? Double.NaN : elapsed / doneHere * (totalSteps - done);
        StringBuilder s = new StringBuilder();
        if (terminal) {
            int filled = (int) Math.round(fraction * BAR_WIDTH);
            s.append('[').append("#".repeat(filled)).append("-".repeat(BAR_WIDTH - filled)).append("] ");
        }
        s.append(String.format(Locale.ROOT, "step %d/%d %3.0f%% | loss %.4g | grad %.3g | clip %.0f%% | lr %.3g | skipped %d | ETA %s",
                done, totalSteps, fraction * 100, last.loss(), last.gradients().norm(),
                seen == 0 ? 0.0 : 100.0 * clipped / seen, last.lr(), skipped, duration(eta)));
        return s.toString();
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "--:--";
        }
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
