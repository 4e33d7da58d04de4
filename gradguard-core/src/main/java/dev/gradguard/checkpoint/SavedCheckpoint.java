package dev.gradguard.checkpoint;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link CheckpointStore#save} did.
 *
 * @param directory the complete checkpoint directory
 * @param bytes the size of its files together
 * @param removed the older checkpoints and leftovers of interrupted saves it removed
 * @param warnings one line for each thing it could not remove; the new checkpoint is complete regardless
 */
public record SavedCheckpoint(Path directory, long bytes, List<Path> removed, List<String> warnings) {
    public SavedCheckpoint {
        removed = List.copyOf(removed);
        warnings = List.copyOf(warnings);
    }
}
