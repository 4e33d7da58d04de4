package dev.gradguard.data;

import dev.gradguard.state.Stateful;

/**
 * An endless supply of training batches. Its state (random generator, position in a data set) is what
 * an exact resume needs to continue with the very batch that would have come next.
 */
public interface BatchSource extends Stateful {

    /** The next batch. Tensors are created in the caller's {@code PointerScope}. */
    Batch next();
}
