package dev.gradguard.clip;

import dev.gradguard.model.Parameters;
import dev.gradguard.state.Stateful;
import java.util.Map;

/**
 * One step of the gradient pipeline: it reads the parameters' gradients, may change them in place, and
 * reports what it did. Transforms compose with {@link GradientPipeline}; a transform with memory across
 * steps (a norm history, an EMA) keeps it in its {@link Stateful} state so a checkpoint can restore it.
 */
public interface GradientTransform extends Stateful {

    /**
     * The transform's kind, a short stable name such as {@code norm} or {@code zclip}: it names the transform in
     * reports and keys its state in a checkpoint, so it never changes while a run goes on.
     */
    String name();

    /**
     * The transform's configuration, keyed by its constructor's parameter names (e.g. {@code maxNorm} and
     * {@code normType}), as JSON-compatible values: numbers (non-finite ones as {@link
     * dev.gradguard.state.StateMaps#jsonDouble} strings), booleans, strings and lists of strings. It is the
     * CONFIGURED value of anything a controller may change later. A checkpoint records it, and a pipeline refuses
     * to restore a transform's state saved with another configuration. The default, for transforms without
     * settings, is empty.
     */
    default Map<String, Object> config() {
        return Map.of();
    }

    /**
     * Transforms the gradients of {@code parameters} in place.
     *
     * @param parameters the model's parameters; those without a gradient are left alone
     * @param context the step, its loss, and the gradients' 2-norm as it stands before this transform
     * @return what this transform did, including the gradients' 2-norm after it
     */
    TransformReport apply(Parameters parameters, GradientContext context);

    @Override
    default Map<String, Object> stateDict() {
        return Map.of();
    }

    @Override
    default void loadStateDict(Map<String, Object> state) {
        if (!state.isEmpty()) {
            throw new IllegalArgumentException(name() + " has no state, but the checkpoint holds " + state.keySet());
        }
    }
}
