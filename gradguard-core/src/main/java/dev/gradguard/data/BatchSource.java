package dev.gradguard.data;

import dev.gradguard.state.Stateful;
import java.util.Map;
import java.util.Objects;

/**
 * An endless supply of training batches. Its state (random generator, position in a data set) is what
 * an exact resume needs to continue with the very batch that would have come next.
 */
public interface BatchSource extends Stateful {

    /** The next batch. Tensors are created in the caller's {@code PointerScope}. */
    Batch next();

    /**
     * The source's position, for checkpoints. The default is empty: a source that is never checkpointed need not
     * implement it, but a resumed run then starts it from wherever a new source starts.
     */
    @Override
    default Map<String, Object> stateDict() {
        return Map.of();
    }

    /** Restores {@link #stateDict()}; the default does nothing. */
    @Override
    default void loadStateDict(Map<String, Object> state) {
    }

    /**
     * The same batch at every call, with no state (for benchmarks and tests that must see identical
     * inputs each step). The batch's tensors must outlive every step that uses them.
     */
    static BatchSource repeating(Batch batch) {
        Objects.requireNonNull(batch, "batch");
        return new BatchSource() {
            @Override
            public Batch next() {
                return batch;
            }

            @Override
            public Map<String, Object> stateDict() {
                return Map.of();
            }

            @Override
            public void loadStateDict(Map<String, Object> state) {
            }
        };
    }
}
