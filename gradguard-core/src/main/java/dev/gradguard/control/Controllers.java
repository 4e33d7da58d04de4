package dev.gradguard.control;

import dev.gradguard.clip.GradientPipeline;
import dev.gradguard.clip.PipelineReport;
import dev.gradguard.clip.ThresholdClip;
import java.util.List;
import java.util.Map;

/**
 * Typed factories for every {@link Controller}: {@link #none()}, which changes nothing, and {@link #auto}, an
 * {@link AutoController} acting on a pipeline's threshold.
 */
public final class Controllers {
    private static final Controller NONE = new Controller() {
        @Override
        public List<ControlDecision> observe(long step, PipelineReport clip, boolean updateApplied) {
            return List.of();
        }

        @Override
        public double lrScale() {
            return 1.0;
        }

        @Override
        public Map<String, Object> stateDict() {
            return Map.of();
        }

        @Override
        public void loadStateDict(Map<String, Object> state) {
            if (!state.isEmpty()) {
                throw new IllegalArgumentException("the controller none() has no state, but the checkpoint holds "
                        + state.keySet());
            }
        }
    };

    private Controllers() {
    }

    /** The controller that changes nothing: scale 1, no decisions, no state. */
    public static Controller none() {
        return NONE;
    }

    /**
     * The automatic controller with its defaults, acting on the first threshold policy (norm or ZClip) of
     * {@code pipeline}: it lowers the learning rate when norms keep pressing the threshold, and relaxes the
     * threshold after calm steps.
     *
     * @throws IllegalArgumentException when the pipeline has no threshold policy to act on
     */
    public static Controller auto(GradientPipeline pipeline) {
        return auto(pipeline, AutoController.Options.defaults());
    }

    /**
     * {@link #auto(GradientPipeline)} with the given options.
     *
     * @throws IllegalArgumentException when the pipeline has no threshold policy to act on
     */
    public static Controller auto(GradientPipeline pipeline, AutoController.Options options) {
        ThresholdClip target = ThresholdClip.firstIn(pipeline).orElseThrow(() -> new IllegalArgumentException(
                "the auto controller needs a clip policy with a threshold it can act on (norm or zclip), but the "
                        + "pipeline has none: " + (pipeline.transforms().isEmpty() ? "it is empty"
                                : "its transforms are " + String.join(", ", pipeline.names()))));
        return new AutoController(options, target);
    }
}
