package dev.gradguard.clip;

import java.util.Optional;

/**
 * A transform whose clipping is bounded by one threshold on the gradients' 2-norm that a controller may
 * change while training runs (e.g. {@link ZClip}'s {@code max_grad_norm}).
 *
 * <p>Contract for implementations: {@link GradientTransform#config()} keeps naming the CONFIGURED
 * threshold (a checkpoint compares it with the restoring run's, so it must not change during a run), and
 * {@link GradientTransform#stateDict()} carries the CURRENT one, so that a checkpoint restores a threshold a
 * controller changed.
 *
 * <p>Not thread-safe: the training thread reads and sets the threshold between steps.
 */
public interface ThresholdClip {

    /** The threshold in force now, {@code >= 0}. */
    double threshold();

    /**
     * Replaces the threshold; it applies from the next step on.
     *
     * @param threshold the new threshold, {@code >= 0} ({@code Double.POSITIVE_INFINITY} never clips)
     * @throws IllegalArgumentException if {@code threshold} is negative or NaN
     */
    void setThreshold(double threshold);

    /** The first transform of {@code pipeline} that has a threshold, if any. */
    static Optional<ThresholdClip> firstIn(GradientPipeline pipeline) {
        for (GradientTransform transform : pipeline.transforms()) {
            if (transform instanceof ThresholdClip clip) {
                return Optional.of(clip);
            }
        }
        return Optional.empty();
    }
}
