package dev.gradguard.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint directory's {@code manifest.json}, written last: the format version, the step, and each
 * file's size and SHA-256. A directory whose manifest is missing, unreadable or disagrees with a file is
 * not a checkpoint.
 *
 * @param formatVersion {@link #FORMAT_VERSION} when written by this build
 * @param step the training step the checkpoint was taken at
 * @param files each file's name and digest
 */
record Manifest(int formatVersion, long step, Map<String, FileDigest> files) {
    static final String FILE = "manifest.json";
    static final String FORMAT = "gradguard-checkpoint";
    static final int FORMAT_VERSION = 1;

    static final String MODEL = "model.pt";
    static final String OPTIMIZER = "optimizer.pt";
    static final String TRAINER = "trainer.json";
    static final String GENERATOR = "generator.bin";
    static final String META = "meta.json";
    /** The files every checkpoint of this format holds besides the manifest. */
    static final List<String> REQUIRED = List.of(MODEL, OPTIMIZER, TRAINER, GENERATOR, META);

    /** A file's size in bytes and its SHA-256 in lower-case hex. */
    record FileDigest(long size, String sha256) {
        static FileDigest of(byte[] bytes) {
            return new FileDigest(bytes.length, HexFormat.of().formatHex(newDigest().digest(bytes)));
        }

        static FileDigest of(Path file) throws IOException {
            MessageDigest sha = newDigest();
            long size = 0;
            byte[] buffer = new byte[1 << 16];
            try (InputStream in = Files.newInputStream(file)) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    sha.update(buffer, 0, n);
                    size += n;
                }
            }
            return new FileDigest(size, HexFormat.of().formatHex(sha.digest()));
        }
    }

    Manifest {
        files = Map.copyOf(files);
    }

    byte[] toJson() {
        Map<String, Object> fileMap = new LinkedHashMap<>();
        files.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e ->
                fileMap.put(e.getKey(), Map.of("size", e.getValue().size(), "sha256", e.getValue().sha256())));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("format", FORMAT);
        json.put("format_version", formatVersion);
        json.put("step", step);
        json.put("files", fileMap);
        return JsonFiles.write(json, FILE);
    }

    /**
     * Parses a manifest.
     *
     * @throws IllegalArgumentException with a one-line reason when it is not a manifest this build reads
     */
    static Manifest parse(byte[] bytes) {
        Map<String, Object> json = JsonFiles.readMap(bytes, FILE);
        if (!FORMAT.equals(json.get("format"))) {
            throw new IllegalArgumentException(FILE + " is not a gradguard checkpoint manifest (format is "
                    + json.get("format") + ")");
        }
        if (!(json.get("format_version") instanceof Integer version)) {
            throw new IllegalArgumentException(FILE + " has no integer format_version");
        }
        if (version != FORMAT_VERSION) {
            throw new IllegalArgumentException(FILE + " has format version " + version
                    + "; this build reads version " + FORMAT_VERSION);
        }
        if (!(json.get("step") instanceof Number step)) {
            throw new IllegalArgumentException(FILE + " has no step");
        }
        if (!(json.get("files") instanceof Map<?, ?> fileMap)) {
            throw new IllegalArgumentException(FILE + " has no files");
        }
        Map<String, FileDigest> files = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : fileMap.entrySet()) {
            if (!(e.getValue() instanceof Map<?, ?> d && d.get("size") instanceof Number size
                    && d.get("sha256") instanceof String sha)) {
                throw new IllegalArgumentException(FILE + " entry " + e.getKey() + " lacks size or sha256");
            }
            files.put(e.getKey().toString(), new FileDigest(size.longValue(), sha));
        }
        for (String required : REQUIRED) {
            if (!files.containsKey(required)) {
                throw new IllegalArgumentException(FILE + " does not list " + required);
            }
        }
        return new Manifest(version, step.longValue(), files);
    }

    private static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
