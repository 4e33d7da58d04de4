package dev.gradguard.session;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.gradguard.checkpoint.CheckpointStore;
import dev.gradguard.io.AtomicFiles;
import dev.gradguard.io.RegularFiles;
import dev.gradguard.metrics.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A run's output directory, which identifies itself and is held by one process at a time.
 *
 * <p>A run directory holds a marker file, {@value #MARKER}, written before anything else: the run's id and
 * every file the run wrote. A directory without the marker is never treated as a run: it is not resumed, and it
 * is not overwritten, whatever the caller asks, so gradguard never deletes a file it did not write. Overwriting
 * a marked run removes only the files its marker records (and only gradguard's own checkpoint directories in
 * {@code checkpoints/}); anything a user put beside them stays. The marker also records where the run was made:
 * files outside the directory (event files in a TensorBoard directory elsewhere) are removed only from there, so
 * overwriting a copy of a run never removes the original's files.
 *
 * <p>While a run is open, an exclusive lock on {@value #LOCK} (a {@link FileChannel#tryLock()}, which the
 * operating system releases when the process dies, so a killed run never blocks its resume) keeps a second
 * process out; the lock file holds the holder's pid for the message the second one gets.
 *
 * <p>Not thread-safe.
 */
public final class RunDirectory implements AutoCloseable {
    /** The marker file: {@code {"run_id", "created", "directory", "files": [...]}}. */
    public static final String MARKER = ".gradguard-run";
    /** The lock file, holding the pid of the process that has the run open. */
    public static final String LOCK = ".gradguard-run.lock";
    /** The name prefix of TensorBoard event files. */
    public static final String EVENT_FILE_PREFIX = "events.out.tfevents.";
    /** Far more than any run records: a marker of a million files is about 30 MB. */
    private static final long MAX_MARKER_BYTES = 64L << 20;
    private static final Logger LOG = System.getLogger(RunDirectory.class.getName());
    private static final Pattern OWN_CHECKPOINT = Pattern.compile("step-\\d+|\\.tmp-.*");

    /** How a run directory is opened. */
    public enum Mode {
        /** A new run: the directory must not exist or be empty. */
        CREATE,
        /** A new run in place of an earlier one: the directory must be empty or a marked run, whose files go. */
        OVERWRITE,
        /** The earlier run in the directory continues: it must be a marked run. */
        RESUME,
        /** Reading only, with no lock and no check: for data-parallel ranks other than 0, which write nothing. */
        READ_ONLY
    }

    private final Path dir;
    private final String runId;
    private final String created;
    private final String home;
    private final Set<String> files;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private RunDirectory(Path dir, String runId, String created, String home, Set<String> files,
            FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.runId = runId;
        this.created = created;
        this.home = home;
        this.files = files;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Opens a run directory, creating it for a new run, and takes its lock (except in {@link Mode#READ_ONLY}).
     * Nothing in the directory is changed before every check has passed.
     *
     * @throws IllegalArgumentException when the path is a file, when a new run's directory holds files, when a
     *     directory to overwrite or resume is not a gradguard run, when another process holds the run (the
     *     message names its pid), or when the directory cannot be created or written; the message says which
     */
    public static RunDirectory open(Path dir, Mode mode) {
        if (dir.toString().isEmpty()) {
            throw new IllegalArgumentException("the run directory is an empty path; name a directory");
        }
        if (mode == Mode.READ_ONLY) {
            return new RunDirectory(dir, "", "", "", new LinkedHashSet<>(), null, null);
        }
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + " is " + kindOf(dir) + ", not a directory");
        }
        checkContents(dir, mode);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalArgumentException(dir + " cannot be created: " + e.getMessage());
        }
        if (!Files.isWritable(dir)) {
            throw new IllegalArgumentException(dir + " is not writable");
        }
        FileChannel channel = null;
        try {
            channel = openLockFile(dir);
            FileLock lock = tryLock(channel, dir);
            // another process may have claimed the directory between the first look and the lock
            checkContents(dir, mode);
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            channel.force(true);
            RunDirectory run;
            if (mode == Mode.RESUME) {
                Map<String, Object> marker = readMarker(dir);
                run = new RunDirectory(dir, String.valueOf(marker.get("run_id")), String.valueOf(marker.get("created")),
                        // a marker from before markers said where their run was made: outside files stay on overwrite
                        marker.get("directory") instanceof String home ? home : "", recordedFiles(dir, marker), channel,
                        lock);
            } else {
                if (mode == Mode.OVERWRITE && Files.exists(dir.resolve(MARKER))) {
                    checkRecordedTree(dir);
                    removeRecordedFiles(dir);
                }
                run = new RunDirectory(dir, UUID.randomUUID().toString(), Instant.now().toString(), absolute(dir),
                        new LinkedHashSet<>(), channel, lock);
                run.writeMarker();
            }
            return run;
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException(dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /** Opens (creating it) the lock file, refusing one that is a symbolic link or not a regular file. */
    private static FileChannel openLockFile(Path dir) throws IOException {
        try {
            return RegularFiles.openToWrite(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
        } catch (FileSystemException e) {
            throw new IllegalArgumentException(e.getMessage() + "; remove it, or choose another directory");
        }
    }

    /** The directory's entries other than the lock file, sorted. */
    private static List<String> entries(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.equals(LOCK)).sorted().toList();
        } catch (IOException e) {
            throw new IllegalArgumentException(dir + " cannot be listed: " + e.getMessage());
        }
    }

    /** What a path that is not a directory is, for a message: a file, a named pipe (FIFO), a symbolic link, ... */
    private static String kindOf(Path path) {
        if (Files.isSymbolicLink(path)) {
            return Files.exists(path) ? "a symbolic link" : "a symbolic link to nothing";
        }
        return RegularFiles.notRegular(path).orElse("a file");
    }

    private static void checkContents(Path dir, Mode mode) {
        List<String> present = entries(dir);
        boolean marked = present.contains(MARKER);
        switch (mode) {
            case CREATE -> {
                if (!present.isEmpty()) {
                    throw new IllegalArgumentException(dir + " already holds files (" + listed(present) + "); "
                            + (marked ? "it is an earlier run: resume it, overwrite it, or choose another directory"
                                    : "choose a new or empty directory"));
                }
            }
            case OVERWRITE -> {
                if (!present.isEmpty() && !marked) {
                    throw new IllegalArgumentException(dir + " is not a gradguard run (no " + MARKER + " marker) and holds "
                            + "files (" + listed(present) + "); gradguard overwrites only its own runs: choose a new or "
                            + "empty directory");
                }
            }
            case RESUME -> {
                if (!Files.isDirectory(dir)) {
                    throw new IllegalArgumentException(dir + " does not exist, so there is no run to resume");
                }
                if (!marked) {
                    throw new IllegalArgumentException(dir + " is not a gradguard run (no " + MARKER + " marker), so "
                            + "there is nothing to resume");
                }
            }
            case READ_ONLY -> {
            }
        }
    }

    private static String listed(List<String> names) {
        return String.join(", ", names.subList(0, Math.min(5, names.size()))) + (names.size() > 5 ? ", ..." : "");
    }

    private static FileLock tryLock(FileChannel channel, Path dir) throws IOException {
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            throw new IllegalArgumentException(dir + " is in use by another gradguard run (pid " + holder(channel)
                    + "); wait for it to end or choose another directory");
        }
        return lock;
    }

    /**
     * The pid the lock's holder wrote. It writes it right after taking the lock, so a second process that comes
     * in between waits a moment for it (up to a second) before it says "unknown".
     */
    private static String holder(FileChannel channel) throws IOException {
        for (int attempt = 0; attempt < 20; attempt++) {
            ByteBuffer buffer = ByteBuffer.allocate(64);
            channel.read(buffer, 0);
            String pid = new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII).strip();
            if (pid.matches("\\d+")) {
                return pid;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return "unknown";
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> readMarker(Path dir) throws IOException {
        Path marker = dir.resolve(MARKER);
        Optional<String> unreadable = RegularFiles.whyUnreadable(marker, MAX_MARKER_BYTES);
        if (unreadable.isPresent()) { // a named pipe would block the read
            throw new IllegalArgumentException(marker + " " + unreadable.get() + "; it is not a run marker gradguard "
                    + "wrote");
        }
        Object value;
        try {
            value = Json.compact().readValue(Files.readAllBytes(marker), Object.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(marker + " is not valid JSON; it is not a run marker gradguard wrote");
        }
        if (!(value instanceof Map<?, ?> map) || !(map.get("files") instanceof List<?>)) {
            throw new IllegalArgumentException(marker + " holds no file list; it is not a run marker gradguard wrote");
        }
        return (Map<String, Object>) map;
    }

    /**
     * The names an earlier run's marker records, each checked before anything is removed or continued: a relative
     * path inside the run directory with no {@code .} or {@code ..} part and no symbolic link on the way, or the
     * absolute path of an event file (a TensorBoard directory elsewhere). gradguard records nothing else, so a
     * marker that lists anything else is not one it wrote, and nothing is changed.
     *
     * @throws IllegalArgumentException naming the first entry that fails (or the link on its way) and why
     */
    private static Set<String> recordedFiles(Path dir, Map<String, Object> marker) {
        Set<String> out = new LinkedHashSet<>();
        for (Object o : (List<?>) marker.get("files")) {
            String name = String.valueOf(o);
            checkRecordable(dir, name);
            out.add(name);
        }
        return out;
    }

    private static void checkRecordable(Path dir, String name) {
        String notOurs = ": not a marker gradguard wrote, so nothing is changed; choose another directory";
        Path path;
        try {
            path = Path.of(name.endsWith("/") ? name.substring(0, name.length() - 1) : name);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException(dir.resolve(MARKER) + " lists '" + name + "', which is not a path" + notOurs);
        }
        if (path.isAbsolute()) {
            if (name.endsWith("/") || !path.equals(path.normalize()) || path.getFileName() == null
                    || !path.getFileName().toString().startsWith(EVENT_FILE_PREFIX)) {
                throw new IllegalArgumentException(dir.resolve(MARKER) + " lists '" + name + "', outside the run "
                        + "directory and not an event file" + notOurs);
            }
            return;
        }
        if (path.toString().isEmpty() || !path.equals(path.normalize()) || path.startsWith("..")) {
            throw new IllegalArgumentException(dir.resolve(MARKER) + " lists '" + name + "', which is not a path "
                    + "inside the run directory" + notOurs);
        }
        for (int i = 1; i <= path.getNameCount(); i++) {
            Path part = dir.resolve(path.subpath(0, i));
            if (Files.isSymbolicLink(part)) {
                throw new IllegalArgumentException(part + " is a symbolic link where the run wrote a "
                        + (i < path.getNameCount() || name.endsWith("/") ? "directory" : "file") + " of its own; "
                        + "gradguard writes nothing through links, so nothing is changed: remove the link, or choose "
                        + "another directory");
            }
        }
    }

    /** Checks the markers of a run and of the runs nested in its recorded directories, before anything is removed. */
    private static void checkRecordedTree(Path dir) throws IOException {
        for (String name : recordedFiles(dir, readMarker(dir))) {
            if (name.endsWith("/") && Files.isDirectory(dir.resolve(name), LinkOption.NOFOLLOW_LINKS)) {
                for (String child : entries(dir.resolve(name))) {
                    Path c = dir.resolve(name).resolve(child);
                    if (Files.isDirectory(c, LinkOption.NOFOLLOW_LINKS) && !OWN_CHECKPOINT.matcher(child).matches()
                            && isRun(c)) {
                        checkRecordedTree(c);
                    }
                }
            }
        }
    }

    /**
     * Removes what an earlier run recorded, once every entry of its marker has passed {@link #recordedFiles}: its
     * files; and in a recorded directory (a name ending in {@code /}) only what gradguard writes there: checkpoint
     * directories ({@code step-N}, {@code .tmp-*}) and nested runs (directories holding their own marker, removed
     * the same way), the directory itself only once empty.
     */
    private static void removeRecordedFiles(Path dir) throws IOException {
        Map<String, Object> marker = readMarker(dir);
        Set<String> recorded = recordedFiles(dir, marker);
        // a copied or moved run's marker names files outside it that the run in its first place wrote
        boolean home = absolute(dir).equals(marker.get("directory"));
        for (String name : recorded) {
            Path p = dir.resolve(name);
            if (!name.endsWith("/") && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                if (Path.of(name).isAbsolute() && !home) {
                    LOG.log(Level.INFO, "left " + name + " as it is: the run that wrote it was in " + marker.get("directory")
                            + ", not in " + dir);
                } else {
                    Files.delete(p);
                }
            }
        }
        // directories after files, so that a directory whose recorded files are gone can go too
        for (String name : recorded) {
            if (name.endsWith("/")) {
                removeOwnDirectory(dir.resolve(name));
            }
        }
        Files.deleteIfExists(dir.resolve(MARKER));
    }

    private static void removeOwnDirectory(Path p) throws IOException {
        if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        for (String child : entries(p)) {
            Path c = p.resolve(child);
            if (!Files.isDirectory(c, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            if (OWN_CHECKPOINT.matcher(child).matches()) {
                deleteTree(c);
            } else if (isRun(c)) {
                removeRecordedFiles(c);
                Files.deleteIfExists(c.resolve(LOCK));
                if (entries(c).isEmpty()) {
                    Files.delete(c);
                }
            }
        }
        if (entries(p).isEmpty()) {
            Files.deleteIfExists(p.resolve(LOCK));
            Files.delete(p);
        }
    }

    /**
     * Records a file (or, with a trailing {@code /}, a directory of checkpoints) as this run's, before it is
     * written, so that an overwrite later removes it and nothing else. Paths outside the run directory are
     * recorded absolute.
     */
    public void record(Path file) {
        Path absolute = file.toAbsolutePath().normalize();
        Path root = dir.toAbsolutePath().normalize();
        String name = absolute.startsWith(root) ? root.relativize(absolute).toString() : absolute.toString();
        record(name);
    }

    private synchronized void record(String name) {
        if (lock != null && files.add(name)) {
            writeMarker();
        }
    }

    /** Records the checkpoint directory: an overwrite removes only gradguard's checkpoints in it. */
    public void recordCheckpoints() {
        recordDirectory(dir.resolve(CheckpointStore.DIRECTORY_NAME));
    }

    /**
     * Records a directory that holds gradguard's checkpoints or nested runs: an overwrite removes those (and the
     * directory, once empty), never anything else in it.
     */
    public void recordDirectory(Path directory) {
        if (Files.isSymbolicLink(directory) || Files.exists(directory) && !Files.isDirectory(directory)) {
            throw new IllegalArgumentException(directory + " is " + kindOf(directory) + ", where gradguard keeps a "
                    + "directory of its own (it writes nothing through links): remove it, or choose another directory");
        }
        Path absolute = directory.toAbsolutePath().normalize();
        Path root = dir.toAbsolutePath().normalize();
        record((absolute.startsWith(root) ? root.relativize(absolute).toString() : absolute.toString()) + "/");
    }

    private void writeMarker() {
        Map<String, Object> marker = new LinkedHashMap<>();
        marker.put("run_id", runId);
        marker.put("created", created);
        marker.put("directory", home);
        marker.put("files", new ArrayList<>(files));
        try {
            AtomicFiles.writeString(dir.resolve(MARKER), Json.pretty().writeValueAsString(marker) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + dir.resolve(MARKER) + ": " + e.getMessage(), e);
        }
    }

    /** The directory's absolute path, as the marker records where its run was made. */
    private static String absolute(Path dir) {
        return dir.toAbsolutePath().normalize().toString();
    }

    /** This run's id, from its marker ("" for a read-only view). */
    public String runId() {
        return runId;
    }

    public Path path() {
        return dir;
    }

    /** The saved settings of this run. */
    public Path config() {
        return dir.resolve("config.json");
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

    /** Releases the lock; the marker and the lock file stay. */
    @Override
    public void close() {
        closeQuietly(lockChannel);
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing releases the lock; a failure leaves nothing to undo
            }
        }
    }

    /** Whether {@code dir} is a gradguard run directory (holds the marker). */
    public static boolean isRun(Path dir) {
        return Files.isRegularFile(dir.resolve(MARKER));
    }

    /** Deletes a directory and everything in it; nothing happens when it does not exist. */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
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
}
