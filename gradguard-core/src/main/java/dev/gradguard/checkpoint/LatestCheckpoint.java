package dev.gradguard.checkpoint;

import java.util.List;
import java.util.Optional;

/**
 * What {@link CheckpointStore#latestValid()} found.
 *
 * @param checkpoint the newest checkpoint that verified, if any
 * @param skipped the directories passed over on the way (newer corrupt or partial checkpoints, leftovers
 *     of interrupted saves), for the caller to print
 */
public record LatestCheckpoint(Optional<LoadedCheckpoint> checkpoint, List<SkippedCheckpoint> skipped) {
    public LatestCheckpoint {
        skipped = List.copyOf(skipped);
    }
}
