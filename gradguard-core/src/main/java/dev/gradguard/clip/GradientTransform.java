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

    /** The transform as {@code --clip} spells it, e.g. {@code norm:1.0} or {@code value:0.5}. */
    String spec();

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
            throw new IllegalArgumentException(spec() + " has no state, but the checkpoint holds " + state.keySet());
        }
    }
}
