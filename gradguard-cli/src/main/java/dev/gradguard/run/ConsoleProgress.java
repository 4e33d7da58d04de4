package dev.gradguard.run;

import dev.gradguard.train.StepResult;
import dev.gradguard.train.Trainer;
import dev.gradguard.train.TrainingListener;
import dev.gradguard.train.TrainingOutcome;
import java.io.File;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Shows training progress the way tqdm does: on a terminal, one status line redrawn in place at most ten times
 * a second, sized to the terminal's width (the least important fields go first when it is narrow); elsewhere (a
 * log file, CI) one plain line every few seconds.
 *
 * <p>The line counts steps done ({@code done 555/1500}); {@code metrics.jsonl} numbers each step from 0, so
 * after its line {@code "step": 554}, 555 steps are done.
 *
 * <p>Skipped steps, troubled steps (their layer attribution) and the controller's decisions get lines of their
 * own, rate-limited so that a run that clips hard on most steps cannot flood the terminal: the first
 * {@value #DETAILED_EVENTS} of each kind in full, then one summary line at most every
 * {@value #SUMMARY_SECONDS} seconds. Every detail stays in {@code metrics.jsonl}.
 */
public final class ConsoleProgress implements TrainingListener {
    /** Event lines of each kind printed in full before they are summarized. */
    static final int DETAILED_EVENTS = 5;
    /** The shortest time between two summary lines of one kind of event, in seconds. */
    static final int SUMMARY_SECONDS = 10;
    /** The narrowest bar drawn. */
    private static final int MIN_BAR = 10;

    private final PrintStream out;
    private final boolean terminal;
    private final int width;
    private final long intervalNanos;
    private final LongSupplier clock;
    private final EventLines skips = new EventLines("skipped");
    private final EventLines troubles = new EventLines("troubled");
    private final List<String> header = new ArrayList<>();

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
     * @param terminal true for an in-place status line sized to the terminal, false for plain periodic lines
     */
    public ConsoleProgress(PrintStream out, boolean terminal) {
        this(out, terminal, List.of());
    }

    /**
     * @param header lines said once when training starts (what trains where, how to watch it)
     */
    public ConsoleProgress(PrintStream out, boolean terminal, List<String> header) {
        this(out, terminal, terminal ? terminalWidth() : Integer.MAX_VALUE, terminal ? 100_000_000L : 5_000_000_000L,
                System::nanoTime);
        this.header.addAll(header);
    }

    ConsoleProgress(PrintStream out, boolean terminal, int width, long intervalNanos, LongSupplier clock) {
        this.out = out;
        this.terminal = terminal;
        this.width = width;
        this.intervalNanos = intervalNanos;
        this.clock = clock;
    }

    /**
     * The terminal's width in columns: {@code COLUMNS} when set, else what {@code stty size} says of the
     * controlling terminal, else 80.
     */
    static int terminalWidth() {
        String columns = System.getenv("COLUMNS");
        if (columns != null && columns.matches("\\d{1,4}") && Integer.parseInt(columns) > 0) {
            return Integer.parseInt(columns);
        }
        try {
            Process p = new ProcessBuilder("stty", "size").redirectInput(new File("/dev/tty"))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String[] rowsColumns = new String(p.getInputStream().readAllBytes()).trim().split("\\s+");
            if (p.waitFor(1, TimeUnit.SECONDS) && p.exitValue() == 0 && rowsColumns.length == 2) {
                return Integer.parseInt(rowsColumns[1]);
            }
        } catch (Exception e) {
            // no controlling terminal, no stty: fall back to the classic width
        }
        return 80;
    }

    @Override
    public void onTrainStart(Trainer trainer, long totalSteps) {
        header.forEach(out::println);
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
        long now = clock.getAsLong();
        if (r.skipped()) {
            skipped++;
            skips.add(now, r.step(), "step " + r.step() + " skipped: " + r.skip().get().detail());
        }
        if (r.diagnostics().attribution().isPresent()) {
            troubles.add(now, r.step(), "step " + r.step() + " layers: " + r.diagnostics().attribution().get().describe());
        }
        for (var decision : r.diagnostics().control()) {
            event("step " + r.step() + " controller: " + decision.reason());
        }
        if (now - lastPrintNanos >= intervalNanos) {
            lastPrintNanos = now;
            print(now, false);
        }
    }

    @Override
    public void onTrainEnd(TrainingOutcome outcome) {
        long now = clock.getAsLong();
        skips.flush(now);
        troubles.flush(now);
        if (last != null) {
            print(now, true);
        }
    }

    /** A line of its own, above the status line. */
    private void event(String text) {
        if (terminal) {
            out.print("\r\u001b[K");
        }
        out.println(fit(text));
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

    /** Cuts an event line to the terminal's width, marking the cut. */
    private String fit(String text) {
        return text.length() < width ? text : text.substring(0, Math.max(0, width - 4)) + "...";
    }

    /**
     * The status line for the latest step, at most {@code width - 1} characters: fields in order of importance,
     * the least important dropped first, the bar taking what room is left.
     */
    String line(long now) {
        long done = last.step() + 1;
        double fraction = totalSteps == 0 ? 1.0 : Math.min(1.0, (double) done / totalSteps);
        double elapsed = (now - startNanos) / 1e9;
        long doneHere = done - firstStep;
        double rate = elapsed > 0 ? doneHere / elapsed : Double.NaN;
        double eta = doneHere <= 0 ? Double.NaN : elapsed / doneHere * (totalSteps - done);
        String count = "done " + done + "/" + totalSteps;
        // most important first
        List<String> fields = new ArrayList<>(List.of(
                count,
                String.format(Locale.ROOT, "loss %.4g", last.loss()),
                duration(elapsed) + "<" + duration(eta),
                String.format(Locale.ROOT, "grad %.3g", last.gradients().norm()),
                String.format(Locale.ROOT, "clip %.0f%%", seen == 0 ? 0.0 : 100.0 * clipped / seen),
                "skipped " + skipped,
                Double.isFinite(rate) ? String.format(Locale.ROOT, rate >= 10 ? "%.0f it/s" : "%.2f it/s", rate) : "-- it/s",
                String.format(Locale.ROOT, "lr %.3g", last.lr())));
        String percent = String.format(Locale.ROOT, "%3.0f%%", fraction * 100);
        // on a terminal of 60 columns or more the bar keeps at least MIN_BAR columns; fields make room for it
        boolean bar = terminal && width >= 60;
        int limit = width - 1 - percent.length() - (bar ? MIN_BAR + 3 : 1);
        while (fields.size() > 1 && String.join(" | ", fields).length() > limit) {
            fields.remove(fields.size() - 1);
        }
        String text = String.join(" | ", fields);
        if (!bar) {
            String plain = percent + " " + text;
            return plain.length() < width ? plain : plain.substring(0, width - 1);
        }
        int barWidth = Math.min(30, MIN_BAR + limit - text.length());
        int filled = (int) Math.round(fraction * barWidth);
        return percent + "|" + "#".repeat(filled) + " ".repeat(barWidth - filled) + "| " + text;
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "--:--";
        }
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%02d:%02d", s / 60, s % 60);
    }

    /** One kind of event line: the first few in full, then counted and summarized now and then. */
    private final class EventLines {
        private final String kind;
        private long printed;
        private long pending;
        private long pendingSince = -1;
        private long lastSummaryNanos;

        EventLines(String kind) {
            this.kind = kind;
        }

        void add(long now, long step, String line) {
            if (printed < DETAILED_EVENTS) {
                printed++;
                event(line);
                if (printed == DETAILED_EVENTS) {
                    event("(further " + kind + " steps are summarized every " + SUMMARY_SECONDS
                            + " s; every step is in metrics.jsonl)");
                    lastSummaryNanos = now;
                }
                return;
            }
            if (pending == 0) {
                pendingSince = step;
            }
            pending++;
            if (now - lastSummaryNanos >= TimeUnit.SECONDS.toNanos(SUMMARY_SECONDS)) {
                flush(now);
            }
        }

        void flush(long now) {
            if (pending > 0) {
                event(pending + " more " + kind + " step" + (pending == 1 ? "" : "s") + " since step " + pendingSince);
                pending = 0;
                lastSummaryNanos = now;
            }
        }
    }
}
