package dev.gradguard.session;

import dev.gradguard.checkpoint.CheckpointStore;

/**
 * When a session saves checkpoints and how it answers spikes.
 *
 * @param every save after every {@code every} steps (0: only at the end)
 * @param keep how many of the newest checkpoints to keep (at least 1)
 * @param maxRollbacks how many times a spike (a step a spike guard skipped) may roll the run back to its newest
 *     checkpoint before the session stops it (0: never roll back)
 */
public record CheckpointPolicy(long every, int keep, int maxRollbacks) {
    /** A checkpoint at the end only, the default three kept, no rollback. */
    public static final CheckpointPolicy AT_END = new CheckpointPolicy(0, CheckpointStore.DEFAULT_KEEP_LAST, 0);

    public CheckpointPolicy {
        if (every < 0) {
            throw new IllegalArgumentException("checkpoint every must be >= 0 steps, got " + every);
        }
        if (keep < 1) {
            throw new IllegalArgumentException("checkpoints kept must be >= 1, got " + keep);
        }
        if (maxRollbacks < 0) {
            throw new IllegalArgumentException("maxRollbacks must be >= 0, got " + maxRollbacks);
        }
    }
}
