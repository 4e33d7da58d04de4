package dev.gradguard.checkpoint;

import dev.gradguard.io.RegularFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Verifies a checkpoint directory against its manifest and reads its small files. */
final class CheckpointReader {
    /** File names a manifest may list: plain names in the checkpoint directory, never a path out of it. */
    private static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*");

    private CheckpointReader() {
    }

    /**
     * Reads a checkpoint directory.
     *
     * @throws CheckpointException with a one-line reason when the directory is not a complete, intact checkpoint
     */
    static LoadedCheckpoint read(Path dir) {
        try {
            return readVerified(dir);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(dir, e.getMessage(), e);
        } catch (IOException e) {
            throw new CheckpointException(dir, "cannot be read: " + CheckpointException.firstLine(e), e);
        }
    }

    private static LoadedCheckpoint readVerified(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(Files.exists(dir) ? "is not a directory" : "does not exist");
        }
        Path manifestFile = dir.resolve(Manifest.FILE);
        if (!Files.isRegularFile(manifestFile)) {
            throw new IllegalArgumentException("has no " + Manifest.FILE + " (the save did not finish)");
        }
        Manifest manifest = Manifest.parse(Files.readAllBytes(manifestFile));
        Matcher name = CheckpointStore.STEP_DIRECTORY.matcher(dir.getFileName().toString());
        if (name.matches() && Long.parseLong(name.group(1)) != manifest.step()) {
            throw new IllegalArgumentException(Manifest.FILE + " says step " + manifest.step()
                    + " but the directory is named for step " + Long.parseLong(name.group(1)));
        }
        for (Map.Entry<String, Manifest.FileDigest> e : manifest.files().entrySet().stream()
                .sorted(Map.Entry.comparingByKey()).toList()) {
            verify(dir, e.getKey(), e.getValue());
        }

        Map<String, Object> trainerState = JsonFiles.readMap(Files.readAllBytes(dir.resolve(Manifest.TRAINER)),
                Manifest.TRAINER);
        byte[] generatorState = Files.readAllBytes(dir.resolve(Manifest.GENERATOR));
        Map<String, Object> meta = JsonFiles.readMap(Files.readAllBytes(dir.resolve(Manifest.META)), Manifest.META);
        if (!(meta.get("optimizer") instanceof String optimizer)) {
            throw new IllegalArgumentException(Manifest.META + " does not name the optimizer");
        }
        ModelFingerprint fingerprint;
        try {
            fingerprint = ModelFingerprint.fromJson(meta.get("fingerprint"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(Manifest.META + ": " + e.getMessage(), e);
        }
        return new LoadedCheckpoint(dir, manifest.step(), trainerState, generatorState,
                offsets(meta.get("metrics_offsets")), map(meta.get("metadata"), "metadata"), fingerprint, optimizer);
    }

    private static void verify(Path dir, String name, Manifest.FileDigest expected) throws IOException {
        if (!FILE_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(Manifest.FILE + " lists a file outside the directory: " + name);
        }
        Path file = dir.resolve(name);
        Optional<String> notRegular = RegularFiles.whyNotRegular(file);
        if (notRegular.isPresent()) {
            throw new IllegalArgumentException(name + " " + notRegular.get());
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(name + " is missing");
        }
        long size = Files.size(file);
        if (size != expected.size()) {
            throw new IllegalArgumentException(name + " has " + size + " bytes but the manifest says "
                    + expected.size() + " (truncated or overwritten)");
        }
        if (!Manifest.FileDigest.of(file).sha256().equals(expected.sha256())) {
            throw new IllegalArgumentException(name + " does not match its SHA-256 in the manifest (corrupted)");
        }
    }

    private static Map<String, Long> offsets(Object json) {
        Map<String, Long> offsets = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : map(json, "metrics_offsets").entrySet()) {
            if (!(e.getValue() instanceof Number n)) {
                throw new IllegalArgumentException(Manifest.META + ": metrics offset " + e.getKey() + " is not a number");
            }
            offsets.put(e.getKey(), n.longValue());
        }
        return offsets;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object json, String key) {
        if (!(json instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(Manifest.META + " has no " + key + " object");
        }
        return (Map<String, Object>) m;
    }
}
