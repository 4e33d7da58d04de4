package dev.gradguard.session;

/**
 * One rollback on a spike.
 *
 * @param step the step that spiked
 * @param toCheckpointStep the step of the checkpoint the run went back to
 * @param skippedBatches the batches between that checkpoint and the spike, skipped rather than replayed
 * @param reason why the step was a spike
 */
public record Rollback(long step, long toCheckpointStep, long skippedBatches, String reason) {
}
