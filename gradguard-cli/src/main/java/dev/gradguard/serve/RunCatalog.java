package dev.gradguard.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.metrics.Json;
import dev.gradguard.report.MetricsRow;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The runs in a directory: each direct subdirectory with a {@code metrics.jsonl} (named by its directory,
 * {@code live}), and the runs of comparisons, {@code compare} writing each under its directory's
 * {@code runs/}: those of a comparison directory inside the root ({@code cmp/runs/none-seed0}) and, when the
 * root is itself a comparison directory, its own ({@code runs/none-seed0}). The only way from a name in a
 * request to a file: {@link #find} accepts only those shapes of names, resolves each step of the path and
 * every file it reads with symbolic links followed, and refuses anything whose real path does not lie, step
 * by step, directly inside the one before it, from the real root down. Nothing outside the root is ever
 * opened.
 *
 * <p>Thread-safe.
 */
final class RunCatalog {
    /** How many runs' metrics are kept in memory between requests (each at most {@link MetricsTail#MAX_ROWS} rows). */
    private static final int CACHED_RUNS = 32;

    /** Where {@code compare} puts its runs, inside the comparison's directory. */
    static final String COMPARED_RUNS = "runs";

    private final Path root;
    private final Map<Path, MetricsTail> tails = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Path, MetricsTail> eldest) {
            return size() > CACHED_RUNS;
        }
    };

    /**
     * @throws IllegalArgumentException when {@code root} is not a readable directory
     */
    RunCatalog(Path root) {
        try {
            this.root = root.toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException("runs directory " + root + " does not exist");
        }
        if (!Files.isDirectory(this.root)) {
            throw new IllegalArgumentException("runs directory " + root + " is not a directory");
        }
    }

    Path root() {
        return root;
    }

    /** What the listing shows of one run. */
    record RunInfo(String name, int steps, long lastStep, double lastLoss, long modifiedMillis,
            Optional<JsonNode> summary) {
    }

    /** A run found by name: its real directory, its current rows, when they were last written, its summary. */
    record Run(String name, Path dir, List<MetricsRow> rows, long modifiedMillis, Optional<JsonNode> summary,
            Optional<JsonNode> config) {
        RunInfo info() {
            MetricsRow last = rows.isEmpty() ? null : rows.get(rows.size() - 1);
            return new RunInfo(name, rows.size(), last == null ? -1 : last.step(), last == null ? Double.NaN : last.loss(),
                    modifiedMillis, summary);
        }
    }

    /** Every run, the most recently written first. */
    List<RunInfo> list() throws IOException {
        List<String> names = new ArrayList<>();
        for (String child : children(Optional.of(root))) {
            names.add(child);
            Optional<Path> dir = realChild(root, child);
            Optional<Path> compareRuns = dir.isEmpty() ? Optional.empty() : realChild(dir.get(), COMPARED_RUNS);
            for (String compared : children(compareRuns)) {
                names.add(child + "/" + COMPARED_RUNS + "/" + compared);
            }
        }
        for (String compared : children(realChild(root, COMPARED_RUNS))) {
            names.add(COMPARED_RUNS + "/" + compared);
        }
        List<RunInfo> runs = new ArrayList<>();
        for (String name : names) {
            find(name).ifPresent(run -> runs.add(run.info()));
        }
        runs.sort(Comparator.comparingLong(RunInfo::modifiedMillis).reversed().thenComparing(RunInfo::name));
        return runs;
    }

    /**
     * The run called {@code name} ({@code live}, {@code runs/<run>} or {@code <comparison>/runs/<run>});
     * empty when there is none, or when the name or a real path on its way leads anywhere but down from
     * the root.
     */
    Optional<Run> find(String name) throws IOException {
        String[] segments = name.split("/", -1);
        boolean shaped = segments.length == 1
                || segments.length == 2 && segments[0].equals(COMPARED_RUNS)
                || segments.length == 3 && segments[1].equals(COMPARED_RUNS);
        if (!shaped) {
            return Optional.empty();
        }
        Optional<Path> real = Optional.of(root);
        for (String segment : segments) {
            if (real.isEmpty()) {
                break;
            }
            real = realChild(real.get(), segment);
        }
        return real.isEmpty() ? Optional.empty() : find(name, real.get());
    }

    /**
     * The real path of the directory {@code name} in {@code realParent}, when it is one and its real path
     * lies directly in {@code realParent}; empty for {@code .}, {@code ..}, names with separators or NUL.
     */
    private static Optional<Path> realChild(Path realParent, String name) throws IOException {
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/") || name.contains("\\")
                || name.indexOf('\0') >= 0) {
            return Optional.empty();
        }
        Path dir = realParent.resolve(name);
        if (!realParent.equals(dir.getParent()) || !Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try {
            Path real = dir.toRealPath();
            return realParent.equals(real.getParent()) ? Optional.of(real) : Optional.empty();
        } catch (NoSuchFileException removedMeanwhile) {
            return Optional.empty();
        }
    }

    /** The sorted names in {@code dir}; none when there is no such directory. */
    private static List<String> children(Optional<Path> dir) throws IOException {
        if (dir.isEmpty()) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir.get())) {
            return entries.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (NoSuchFileException removedMeanwhile) {
            return List.of();
        }
    }

    private Optional<Run> find(String name, Path real) throws IOException {
        Optional<Path> metrics = runFile(real, "metrics.jsonl");
        if (metrics.isEmpty()) {
            return Optional.empty();
        }
        MetricsTail tail;
        synchronized (tails) {
            tail = tails.computeIfAbsent(metrics.get(), MetricsTail::new);
        }
        Optional<JsonNode> summary = readJson(real, "summary.json");
        Optional<JsonNode> config = readJson(real, "config.json");
        long modified = Files.getLastModifiedTime(metrics.get()).toMillis();
        return Optional.of(new Run(name, real, tail.rows(), modified, summary, config));
    }

    /** A JSON file of the run, if it is there and readable now. */
    private static Optional<JsonNode> readJson(Path runDir, String name) throws IOException {
        Optional<Path> file = runFile(runDir, name);
        if (file.isPresent()) {
            try {
                return Optional.of(Json.compact().readTree(file.get().toFile()));
            } catch (IOException unreadable) {
                // being replaced at this moment (written to a temporary file and renamed); next poll
            }
        }
        return Optional.empty();
    }

    /** A regular file directly in {@code runDir} whose real path stays there. */
    private static Optional<Path> runFile(Path runDir, String name) throws IOException {
        Path file = runDir.resolve(name);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        Path real = file.toRealPath();
        return runDir.equals(real.getParent()) && Files.isRegularFile(real) ? Optional.of(real) : Optional.empty();
    }
}
