package dev.gradguard.compare;

import dev.gradguard.cli.ExitCodes;
import dev.gradguard.cli.Main;
import dev.gradguard.io.AtomicFiles;
import dev.gradguard.io.RegularFiles;
import dev.gradguard.session.RunDirectory;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.metrics.Json;
import dev.gradguard.run.TrainSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs a grid of clip policies x seeds, each run a {@code gradguard train} in a JVM of its own with one
 * libtorch thread, up to {@code parallel} at once: a run that crashes (even the JVM itself) or hangs is
 * reported in its row and the others go on.
 *
 * <p>Layout of the output directory: {@code train.json} (the shared settings), {@code runs/<policy>-seed<k>/}
 * (each run's directory), {@code logs/<policy>-seed<k>.log} (each run's console output).
 */
public final class Comparison {
    /** A run whose final loss exceeds this multiple of its starting loss has diverged. */
    public static final double DIVERGENCE_FACTOR = 10.0;
    private static final int END_WINDOW = 50;

    private Comparison() {
    }

    /** One cell of the grid, with its paths. */
    record Cell(Policy policy, double lr, long seed, Path runDir, Path log) {
        String label() {
            return policy.spec() + " lr " + lrText(lr) + " seed " + seed;
        }
    }

    /**
     * Runs the grid and returns its rows in grid order (policy by policy, then learning rate by learning rate,
     * then seed by seed), printing one line per finished run with the runs done and left and the time left.
     *
     * @param out the comparison's directory, claimed by the caller; every file the comparison writes is recorded
     *     in it (the runs are runs of their own, in {@code runs/})
     * @throws IllegalArgumentException when the shared settings are invalid (checked before any run starts)
     */
    public static List<RunResult> run(CompareOptions options, RunDirectory out, PrintStream progress) throws IOException {
        TrainSettings.of(options.train(), "comparison settings");
        Path outDir = out.path();
        out.recordDirectory(outDir.resolve("runs"));
        Files.createDirectories(outDir.resolve("runs"));
        out.recordDirectory(outDir.resolve("logs"));
        Files.createDirectories(outDir.resolve("logs"));
        Path config = outDir.resolve("train.json");
        out.record(config);
        AtomicFiles.writeString(config, Json.pretty().writeValueAsString(options.train()) + "\n");

        List<Cell> cells = new ArrayList<>();
        for (String policy : options.policies()) {
            for (double lr : options.lrs()) {
                for (long seed = 0; seed < options.seeds(); seed++) {
                    String name = runName(policy, lr, seed);
                    Path log = outDir.resolve("logs").resolve(name + ".log");
                    out.record(log);
                    // created here, so that a link in its place is refused before any run starts
                    RegularFiles.openToWrite(log, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                            StandardOpenOption.TRUNCATE_EXISTING).close();
                    cells.add(new Cell(Policy.parse(policy), lr, seed, outDir.resolve("runs").resolve(name), log));
                }
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(options.parallel());
        AtomicInteger done = new AtomicInteger();
        long start = System.nanoTime();
        try {
            List<Future<RunResult>> futures = new ArrayList<>();
            for (Cell cell : cells) {
                futures.add(pool.submit(() -> {
                    RunResult r = runOne(cell, config, options.runTimeoutSeconds());
                    synchronized (progress) {
                        int finished = done.incrementAndGet();
                        progress.println(progressLine(finished, cells.size(), (System.nanoTime() - start) / 1e9, describe(r)));
                    }
                    return r;
                }));
            }
            List<RunResult> results = new ArrayList<>();
            for (Future<RunResult> f : futures) {
                results.add(f.get());
            }
            return results;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("comparison interrupted", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("comparison failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * A progress line: {@code [done/total] what, N left, ETA 1m05s}, the time left estimated from the mean
     * wall time per finished run so far (which counts the runs that ran side by side).
     */
    static String progressLine(int done, int total, double elapsedSeconds, String what) {
        int left = total - done;
        String eta = left == 0 ? "done" : "ETA " + duration(elapsedSeconds / done * left);
        return String.format(Locale.ROOT, "[%d/%d] %s; %d left, %s", done, total, what, left, eta);
    }

    /** Seconds as {@code 45s}, {@code 3m05s} or {@code 1h02m}. */
    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60);
    }

    private static String describe(RunResult r) {
        String cell = String.format(Locale.ROOT, "%s lr %s seed %d", r.policy(), lrText(r.lr()), r.seed());
        if (r.error().isPresent()) {
            return cell + ": CRASHED (" + r.error().get() + ")";
        }
        return String.format(Locale.ROOT, "%s: %s%s, metric %.4g, %d steps, clip rate %.0f%%, %.1f s", cell,
                r.success() ? "learned" : "did not learn", r.collapsed() ? ", COLLAPSED" : "", r.finalMetric(), r.steps(),
                100 * r.clipRate(), r.wallSeconds());
    }

    /** A learning rate as the shortest plain decimal: {@code 0.03}, {@code 1}, {@code 0.0001}. */
    public static String lrText(double lr) {
        return java.math.BigDecimal.valueOf(lr).stripTrailingZeros().toPlainString();
    }

    /** The name of a run's directory under {@code runs/} and of its log under {@code logs/}. */
    public static String runName(String policy, double lr, long seed) {
        return slug(policy) + "-lr" + lrText(lr) + "-seed" + seed;
    }

    static RunResult runOne(Cell cell, Path config, long timeoutSeconds) {
        List<String> command = new ArrayList<>(List.of(javaExecutable(), "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "train", "--config", config.toString(), "--clip", cell.policy().clip(),
                "--controller", cell.policy().controller(), "--lr", Double.toString(cell.lr()), "--seed", Long.toString(cell.seed()), "--threads", "1", "--quiet", "--out", cell.runDir().toString()));
        long start = System.nanoTime();
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(cell.log().toFile()).start();
            boolean finished = process.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            if (!finished) {
                process.destroyForcibly().waitFor();
                return crashed(cell, "timed out after " + timeoutSeconds + " s", start);
            }
            int code = process.exitValue();
            // 0: trained; 5: stopped by the guard after too many non-finite steps (a collapse, with a summary)
            if ((code == ExitCodes.OK || code == ExitCodes.DIVERGED) && Files.exists(cell.runDir().resolve("summary.json"))) {
                return fromRunDirectory(cell, (System.nanoTime() - start) / 1e9);
            }
            return crashed(cell, "exit code " + code + ": " + lastLine(cell.log()), start);
        } catch (IOException e) {
            return crashed(cell, "could not start: " + e.getMessage(), start);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return crashed(cell, "interrupted", start);
        }
    }

    private static RunResult crashed(Cell cell, String error, long start) {
        return new RunResult(cell.policy().spec(), cell.seed(), cell.lr(), false, false, Double.NaN, 0, 0, Double.NaN,
                (System.nanoTime() - start) / 1e9, Optional.of(error));
    }

    /** Reads a finished run's summary and metrics into its row. */
    static RunResult fromRunDirectory(Cell cell, double wallSeconds) throws IOException {
        JsonNode s = Json.compact().readTree(cell.runDir().resolve("summary.json").toFile());
        Curves curves = Curves.read(cell.runDir().resolve("metrics.jsonl"));
        boolean collapsed = s.get("nonfinite_steps").asLong() > 0
                || !s.get("params_finite").asBoolean()
                || !s.get("completed").asBoolean()
                || diverged(curves.loss());
        return new RunResult(cell.policy().spec(), cell.seed(), cell.lr(), collapsed, s.get("learned").asBoolean(),
                number(s.get("metric_value")), s.get("steps").asLong(), s.get("skipped_steps").asLong(),
                number(s.get("clip_rate")), wallSeconds, Optional.empty());
    }

    /**
     * The final loss (the mean of the last {@value #END_WINDOW} finite losses) is non-finite or above
     * {@link #DIVERGENCE_FACTOR} times the untrained model's loss (the first finite one).
     */
    static boolean diverged(double[] loss) {
        double start = Double.NaN;
        for (double v : loss) {
            if (Double.isFinite(v)) {
                start = v;
                break;
            }
        }
        double end = meanOfFinite(loss, Math.max(0, loss.length - END_WINDOW), loss.length);
        return !Double.isFinite(end) || (Double.isFinite(start) && end > DIVERGENCE_FACTOR * start);
    }

    private static double meanOfFinite(double[] v, int from, int to) {
        double sum = 0;
        int n = 0;
        for (int i = from; i < to; i++) {
            if (Double.isFinite(v[i])) {
                sum += v[i];
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    static double number(JsonNode n) {
        return n.isNumber() ? n.asDouble() : Double.parseDouble(n.asText());
    }

    /** The run's error line, or else its last line. */
    private static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            for (String line : lines) {
                if (line.startsWith("gradguard: error:") || line.startsWith("Exception in thread")) {
                    return line.trim();
                }
            }
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (!lines.get(i).isBlank()) {
                    return lines.get(i).trim();
                }
            }
            return "(no output)";
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    private static String javaExecutable() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** A file-name-safe form of a policy spec: {@code norm:1.0} becomes {@code norm_1.0}. */
    public static String slug(String policy) {
        return policy.replaceAll("[^A-Za-z0-9.-]+", "_");
    }

    /** Loss and gradient-norm curves of one run, from its {@code metrics.jsonl}. */
    public record Curves(double[] steps, double[] loss, double[] gradNorm) {
        static Curves read(Path metrics) {
            List<double[]> rows = new ArrayList<>();
            try {
                for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
                    if (line.isBlank()) {
                        continue;
                    }
                    JsonNode n = Json.compact().readTree(line);
                    rows.add(new double[] {n.get("step").asDouble(), number(n.get("loss")), number(n.get("grad_norm"))});
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + metrics + ": " + e.getMessage(), e);
            }
            double[] steps = new double[rows.size()];
            double[] loss = new double[rows.size()];
            double[] norm = new double[rows.size()];
            for (int i = 0; i < rows.size(); i++) {
                steps[i] = rows.get(i)[0];
                loss[i] = rows.get(i)[1];
                norm[i] = rows.get(i)[2];
            }
            return new Curves(steps, loss, norm);
        }

        /** The step at which this run went wrong, as {@link Comparison#collapseStep} defines it. */
        public double collapseStep() {
            return Comparison.collapseStep(steps, loss);
        }
    }

    /**
     * The step at which a collapsed run went wrong: its first non-finite loss, or its first loss above
     * {@link #DIVERGENCE_FACTOR} times the first finite one; else its last step (its weights went bad).
     * NaN when it has no steps.
     */
    public static double collapseStep(double[] steps, double[] loss) {
        double start = Double.NaN;
        for (int i = 0; i < loss.length; i++) {
            if (!Double.isFinite(loss[i]) || (Double.isFinite(start) && loss[i] > DIVERGENCE_FACTOR * start)) {
                return steps[i];
            }
            start = Double.isFinite(start) ? start : loss[i];
        }
        return steps.length == 0 ? Double.NaN : steps[steps.length - 1];
    }

    /** The curves of every row whose run produced metrics, in grid order. */
    public static Map<RunResult, Curves> curves(List<RunResult> results, Path outDir) {
        Map<RunResult, Curves> out = new LinkedHashMap<>();
        for (RunResult r : results) {
            Path metrics = outDir.resolve("runs").resolve(runName(r.policy(), r.lr(), r.seed())).resolve("metrics.jsonl");
            if (Files.exists(metrics)) {
                out.put(r, Curves.read(metrics));
            }
        }
        return out;
    }
}
