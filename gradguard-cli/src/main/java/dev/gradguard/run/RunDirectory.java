package dev.gradguard.run;

import dev.gradguard.checkpoint.CheckpointStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.stream.Stream;

/**
 * A run's output directory. It is never silently reused: a directory that already holds files is
 * refused unless the caller asks to overwrite, and then only this project's own output files (including
 * TensorBoard event files) are replaced; anything else in it is left alone.
 */
public final class RunDirectory {
    /** The files a train run writes, besides its TensorBoard event files. */
    public static final List<String> OUTPUTS = List.of("config.json", "metrics.jsonl", "summary.json", "model.pt");
    /** The name prefix of TensorBoard event files. */
    public static final String EVENT_FILE_PREFIX = "events.out.tfevents.";

    private final Path dir;

    private RunDirectory(Path dir) {
        this.dir = dir;
    }

    /**
     * Creates or claims the directory.
     *
     * @param dir the directory
     * @param overwrite whether an existing run's output files may be replaced
     * @throws IllegalArgumentException when the directory holds files and {@code overwrite} is false, is a
     *     file, or cannot be created or written; the message says which and what to do
     */
    public static RunDirectory prepare(Path dir, boolean overwrite) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--out " + dir + " is a file, not a directory");
        }
        try {
            if (Files.isDirectory(dir)) {
                List<String> present;
                try (Stream<Path> entries = Files.list(dir)) {
                    present = entries.map(p -> p.getFileName().toString()).sorted().toList();
                }
                if (!present.isEmpty()) {
                    if (!overwrite) {
                        throw new IllegalArgumentException("--out " + dir + " already holds files ("
                                + String.join(", ", present.subList(0, Math.min(5, present.size())))
                                + (present.size() > 5 ? ", ..." : "") + "); choose another --out or pass --overwrite");
                    }
                    for (String name : present) {
                        if (OUTPUTS.contains(name) || name.startsWith(EVENT_FILE_PREFIX)) {
                            Files.deleteIfExists(dir.resolve(name));
                        }
                    }
                    deleteTree(dir.resolve(CheckpointStore.DIRECTORY_NAME));
                }
            }
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalArgumentException("--out " + dir + " cannot be created: " + e.getMessage());
        }
        if (!Files.isWritable(dir)) {
            throw new IllegalArgumentException("--out " + dir + " is not writable");
        }
        return new RunDirectory(dir);
    }

    /**
     * Claims the directory of an earlier run to resume it: it must exist and hold that run's
     * {@code config.json}.
     *
     * @throws IllegalArgumentException naming what is missing
     */
    public static RunDirectory existing(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--resume: --out " + dir + " is not a directory of an earlier run");
        }
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalArgumentException("--resume: " + dir + " holds no config.json, so it is not a gradguard run");
        }
        if (!Files.isWritable(dir)) {
            throw new IllegalArgumentException("--out " + dir + " is not writable");
        }
        return new RunDirectory(dir);
    }

    /** The directory as it is, unchecked and untouched: for data-parallel ranks that only read from it. */
    public static RunDirectory of(Path dir) {
        return new RunDirectory(dir);
    }

    /** The saved settings of this run. */
    public Path config() {
        return dir.resolve("config.json");
    }

    /** Deletes a directory and everything in it; nothing happens when it does not exist. */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** A fresh directory name under {@code parent}: {@code <prefix>-<yyyyMMdd-HHmmss>}, suffixed if taken. */
    public static Path fresh(Path parent, String prefix) {
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path candidate = parent.resolve(prefix + "-" + stamp);
        for (int i = 2; Files.exists(candidate); i++) {
            candidate = parent.resolve(prefix + "-" + stamp + "-" + i);
        }
        return candidate;
    }

    public Path path() {
        return dir;
    }

    public Path metrics() {
        return dir.resolve("metrics.jsonl");
    }

    public Path summary() {
        return dir.resolve("summary.json");
    }

    public Path weights() {
        return dir.resolve("model.pt");
    }

    /** Writes a text file whole or not at all: to a temporary file first, then renamed over the target. */
    public static void writeAtomically(Path target, String text) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        try {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
