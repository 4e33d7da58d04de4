package dev.gradguard.checkpoint;

import dev.gradguard.engine.Torch;
import dev.gradguard.optim.TrainingOptimizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.OutputArchive;

/**
 * A run's checkpoints, one directory each, {@code <store>/step-<NNNNNNNN>/}:
 * <pre>
 *   model.pt       libtorch archive of the module (parameters and buffers)
 *   optimizer.pt   libtorch archive of the optimizer (e.g. Adam's moments and step counts)
 *   trainer.json   the trainer's stateDict()
 *   generator.bin  libtorch's default CPU generator state (5,056 bytes)
 *   meta.json      optimizer kind, model fingerprint, metrics offsets, free-form metadata, libtorch version
 *   manifest.json  written last: format version, step, each file's size and SHA-256
 * </pre>
 *
 * <p>A save is all or nothing: every file goes into a temporary directory {@code .tmp-step-<N>-<random>},
 * each is forced to the device, the manifest last, then the directory is renamed into place in one step and
 * the store directory is forced. A crash or a full disk part-way leaves at most a temporary directory, which
 * is never loaded, and the earlier checkpoints untouched. Only after the new checkpoint is complete are older
 * ones removed, keeping the newest {@code keepLast}.
 *
 * <p>One writer per store: a save removes leftovers of interrupted saves, so two processes must not save into
 * the same directory. Not thread-safe.
 */
public final class CheckpointStore {
    public static final int DEFAULT_KEEP_LAST = 3;
    /** The store's directory name inside a run directory. */
    public static final String DIRECTORY_NAME = "checkpoints";
    static final Pattern STEP_DIRECTORY = Pattern.compile("step-(\\d+)");
    static final String TEMPORARY_PREFIX = ".tmp-";

    private final Path directory;
    private final int keepLast;
    private final Disk disk;

    /** A store keeping the last {@value #DEFAULT_KEEP_LAST} checkpoints. */
    public CheckpointStore(Path directory) {
        this(directory, DEFAULT_KEEP_LAST);
    }

    /**
     * A store keeping the newest {@code keepLast} checkpoints.
     *
     * @throws IllegalArgumentException if {@code keepLast < 1}
     */
    public CheckpointStore(Path directory, int keepLast) {
        this(directory, keepLast, Disk.SYSTEM);
    }

    CheckpointStore(Path directory, int keepLast, Disk disk) {
        if (keepLast < 1) {
            throw new IllegalArgumentException("keep-last must be at least 1, got " + keepLast);
        }
        this.directory = directory;
        this.keepLast = keepLast;
        this.disk = disk;
    }

    /** The store of a run directory: {@code <run>/checkpoints/}. */
    public static CheckpointStore inRun(Path runDirectory, int keepLast) {
        return new CheckpointStore(runDirectory.resolve(DIRECTORY_NAME), keepLast);
    }

    public Path directory() {
        return directory;
    }

    public int keepLast() {
        return keepLast;
    }

    /** The directory name of a step's checkpoint, {@code step-} and at least 8 digits. */
    public static String directoryName(long step) {
        return String.format("step-%08d", step);
    }

    /**
     * Saves a checkpoint as {@code step-<N>/}, replacing one of the same step, then removes the checkpoints
     * of earlier steps beyond the newest {@code keepLast} (counting the new one) and the leftovers of
     * interrupted saves. Checkpoints of later steps (from before a resume) are left alone.
     *
     * @return the new directory and what was removed
     * @throws CheckpointException when the checkpoint could not be written completely (a full disk, a state
     *     that is not JSON-compatible, a libtorch error); the temporary directory is removed and earlier
     *     checkpoints are untouched
     */
    public SavedCheckpoint save(Checkpoint checkpoint) {
        Torch.load();
        Path target = directory.resolve(directoryName(checkpoint.step()));
        Path temporary = directory.resolve(TEMPORARY_PREFIX + target.getFileName() + "-" + randomSuffix());
        long bytes;
        try {
            Map<String, byte[]> small = new LinkedHashMap<>();
            small.put(Manifest.TRAINER, JsonFiles.write(checkpoint.trainerState(), Manifest.TRAINER));
            small.put(Manifest.GENERATOR, checkpoint.generatorState());
            small.put(Manifest.META, JsonFiles.write(meta(checkpoint), Manifest.META));

            disk.createDirectory(temporary);
            Map<String, Manifest.FileDigest> files = new LinkedHashMap<>();
            try (PointerScope scope = new PointerScope()) {
                OutputArchive model = new OutputArchive();
                checkpoint.model().save(model);
                files.put(Manifest.MODEL, saveArchive(model, temporary.resolve(Manifest.MODEL)));
                OutputArchive optimizer = new OutputArchive();
                checkpoint.optimizer().save(optimizer);
                files.put(Manifest.OPTIMIZER, saveArchive(optimizer, temporary.resolve(Manifest.OPTIMIZER)));
            }
            for (Map.Entry<String, byte[]> e : small.entrySet()) {
                disk.write(temporary.resolve(e.getKey()), e.getValue());
                files.put(e.getKey(), Manifest.FileDigest.of(e.getValue()));
            }
            byte[] manifest = new Manifest(Manifest.FORMAT_VERSION, checkpoint.step(), files).toJson();
            disk.write(temporary.resolve(Manifest.FILE), manifest);
            disk.forceDirectory(temporary);
            bytes = manifest.length + files.values().stream().mapToLong(Manifest.FileDigest::size).sum();
            install(temporary, target);
            disk.forceDirectory(directory);
        } catch (IOException | RuntimeException e) {
            try {
                deleteRecursively(temporary);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw new CheckpointException(target, "could not be saved: " + CheckpointException.firstLine(e)
                    + freeSpace(directory) + "; the earlier checkpoints are untouched", e);
        }
        List<Path> removed = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        prune(checkpoint.step(), removed, warnings);
        return new SavedCheckpoint(target, bytes, removed, warnings);
    }

    /**
     * The newest checkpoint that verifies: its manifest parses and every file it lists exists with the
     * listed size and SHA-256. Newer directories that fail, and leftovers of interrupted saves, are skipped,
     * never loaded, and reported.
     *
     * @return the checkpoint, if any, and what was skipped; an absent store directory holds none
     * @throws CheckpointException when the store directory cannot be listed
     */
    public LatestCheckpoint latestValid() {
        List<SkippedCheckpoint> skipped = new ArrayList<>();
        for (Path leftover : temporaryDirectories()) {
            skipped.add(new SkippedCheckpoint(leftover, "unfinished save (a temporary directory); never loaded"));
        }
        for (Path candidate : stepDirectoriesNewestFirst()) {
            try {
                return new LatestCheckpoint(Optional.of(load(candidate)), skipped);
            } catch (CheckpointException e) {
                skipped.add(new SkippedCheckpoint(candidate, e.reason()));
            }
        }
        return new LatestCheckpoint(Optional.empty(), skipped);
    }

    /**
     * Reads and verifies one checkpoint directory.
     *
     * @throws CheckpointException naming the directory and, in one line, what is wrong with it
     */
    public static LoadedCheckpoint load(Path checkpointDirectory) {
        return CheckpointReader.read(checkpointDirectory);
    }

    /**
     * Verifies the checkpoint, then loads its model archive into {@code model}; see
     * {@link LoadedCheckpoint#restoreModel}. To restore several parts, {@link #load} once instead.
     */
    public static void restoreModel(Module model, Path checkpointDirectory) {
        load(checkpointDirectory).restoreModel(model);
    }

    /** Verifies the checkpoint, then loads its optimizer state; see {@link LoadedCheckpoint#restoreOptimizer}. */
    public static void restoreOptimizer(TrainingOptimizer optimizer, Path checkpointDirectory) {
        load(checkpointDirectory).restoreOptimizer(optimizer);
    }

    /** Verifies the checkpoint, then restores the default CPU generator; see {@link LoadedCheckpoint#restoreGenerator}. */
    public static void restoreGenerator(Path checkpointDirectory) {
        load(checkpointDirectory).restoreGenerator();
    }

    private Manifest.FileDigest saveArchive(OutputArchive archive, Path file) throws IOException {
        return Manifest.FileDigest.of(disk.saveArchive(archive, file));
    }

    /** " (N MiB free on that disk)", or nothing when the file system cannot say. */
    public static String freeSpace(Path directory) {
        try {
            long free = Files.getFileStore(directory).getUsableSpace();
            return String.format(java.util.Locale.ROOT, " (%.1f MiB free on that disk)", free / 1048576.0);
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static Map<String, Object> meta(Checkpoint checkpoint) {
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("optimizer", checkpoint.optimizer().kind());
        meta.put("torch_version", Torch.version());
        meta.put("metrics_offsets", checkpoint.metricsOffsets());
        meta.put("metadata", checkpoint.metadata());
        meta.put("fingerprint", ModelFingerprint.of(checkpoint.model()).toJson());
        return meta;
    }

    /** Renames the finished temporary directory to its final name; a checkpoint of the same step is replaced. */
    private void install(Path temporary, Path target) throws IOException {
        if (!Files.exists(target)) {
            disk.moveAtomically(temporary, target);
            return;
        }
        Path replaced = directory.resolve(TEMPORARY_PREFIX + "replaced-" + target.getFileName() + "-" + randomSuffix());
        disk.moveAtomically(target, replaced);
        disk.moveAtomically(temporary, target);
        // if this fails, the old copy stays as a leftover that the next save removes
        deleteRecursively(replaced);
    }

    private void prune(long savedStep, List<Path> removed, List<String> warnings) {
        List<Path> candidates = new ArrayList<>();
        stepDirectoriesNewestFirst().stream().filter(p -> step(p) < savedStep).skip(keepLast - 1L)
                .forEach(candidates::add);
        candidates.addAll(temporaryDirectories());
        for (Path old : candidates) {
            try {
                // renamed first, so that an interrupted removal leaves a leftover, not a half checkpoint
                Path doomed = old.getFileName().toString().startsWith(TEMPORARY_PREFIX) ? old
                        : directory.resolve(TEMPORARY_PREFIX + "removing-" + old.getFileName() + "-" + randomSuffix());
                if (doomed != old) {
                    disk.moveAtomically(old, doomed);
                }
                deleteRecursively(doomed);
                removed.add(old);
            } catch (IOException | RuntimeException e) {
                warnings.add("could not remove " + old + ": " + CheckpointException.firstLine(e));
            }
        }
    }

    private List<Path> stepDirectoriesNewestFirst() {
        return entries().stream()
                .filter(p -> STEP_DIRECTORY.matcher(p.getFileName().toString()).matches())
                .sorted(Comparator.comparingLong(CheckpointStore::step).reversed())
                .toList();
    }

    private List<Path> temporaryDirectories() {
        return entries().stream()
                .filter(p -> p.getFileName().toString().startsWith(TEMPORARY_PREFIX) && Files.isDirectory(p))
                .sorted()
                .toList();
    }

    private List<Path> entries() {
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> list = Files.list(directory)) {
            return list.toList();
        } catch (IOException e) {
            throw new CheckpointException(directory, "cannot be listed: " + CheckpointException.firstLine(e), e);
        }
    }

    private static long step(Path stepDirectory) {
        Matcher m = STEP_DIRECTORY.matcher(stepDirectory.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException(stepDirectory + " is not a step directory");
        }
        return Long.parseLong(m.group(1));
    }

    private static String randomSuffix() {
        return String.format("%08x", ThreadLocalRandom.current().nextInt());
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
