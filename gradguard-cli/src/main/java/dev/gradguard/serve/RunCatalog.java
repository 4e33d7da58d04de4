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
 * The runs in a directory: each direct subdirectory with a {@code metrics.jsonl}. The only way from a name
 * in a request to a file: {@link #find} accepts a plain directory name, resolves it and every file it reads
 * with symbolic links followed, and refuses anything whose real path is not a run directly inside the real
 * root, or a run file directly inside that run. Nothing outside the root is ever opened.
 *
 * <p>Thread-safe.
 */
final class RunCatalog {
    /** How many runs' metrics are kept in memory between requests (each at most {@link MetricsTail#MAX_ROWS} rows). */
    private static final int CACHED_RUNS = 32;

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
        List<String> names;
        try (Stream<Path> entries = Files.list(root)) {
            names = entries.map(p -> p.getFileName().toString()).toList();
        }
        List<RunInfo> runs = new ArrayList<>();
        for (String name : names) {
            find(name).ifPresent(run -> runs.add(run.info()));
        }
        runs.sort(Comparator.comparingLong(RunInfo::modifiedMillis).reversed().thenComparing(RunInfo::name));
        return runs;
    }

    /**
     * The run called {@code name}; empty when there is none, or when the name or its real path leads
     * anywhere but a run directly inside the root.
     */
    Optional<Run> find(String name) throws IOException {
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/") || name.contains("\\")
                || name.indexOf('\0') >= 0) {
            return Optional.empty();
        }
        Path dir = root.resolve(name);
        if (!root.equals(dir.getParent()) || !Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try {
            return find(name, dir.toRealPath());
        } catch (NoSuchFileException removedMeanwhile) {
            return Optional.empty();
        }
    }

    private Optional<Run> find(String name, Path real) throws IOException {
        if (!root.equals(real.getParent())) {
            return Optional.empty();
        }
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
