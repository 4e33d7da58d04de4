package dev.gradguard.checkpoint;

import java.nio.file.Path;

/**
 * A directory in the store that is not a usable checkpoint, and why, in one line.
 *
 * @param path the directory
 * @param reason what is wrong with it
 */
public record SkippedCheckpoint(Path path, String reason) {
    @Override
    public String toString() {
        return path + ": " + reason;
    }
}
