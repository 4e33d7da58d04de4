package dev.gradguard.task;

import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.data.Rng;
import dev.gradguard.state.StateMaps;
import java.util.Map;

/**
 * Training batches drawn by a task's generator from one {@link Rng}. Its state is the generator's, so a
 * restored source continues with exactly the batch that would have come next.
 */
final class GeneratedBatches implements BatchSource {

    /** Makes one batch from the random stream. */
    interface Generator {
        Batch generate(Rng rng, int batchSize);
    }

    private final Rng rng;
    private final int batchSize;
    private final Generator generator;

    GeneratedBatches(long seed, int batchSize, Generator generator) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        this.rng = new Rng(seed);
        this.batchSize = batchSize;
        this.generator = generator;
    }

    @Override
    public Batch next() {
        return generator.generate(rng, batchSize);
    }

    @Override
    public Map<String, Object> stateDict() {
        return Map.of("rng", rng.stateDict());
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        rng.loadStateDict(StateMaps.getMap(state, "rng"));
    }
}
