package dev.gradguard.optim;

import dev.gradguard.state.StateMaps;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A schedule whose learning rate is a closed-form function of the number of updates applied so far.
 * Its only state is that count, so a restored schedule continues exactly where the saved one stopped.
 */
abstract class UpdateCountSchedule implements LrSchedule {
    private long updates;

    /** The learning rate for update {@code k} (counting from 0). */
    abstract double lrAt(long k);

    /** The schedule's kind, recorded in its state. */
    abstract String name();

    /** What shapes the rates besides the base rate and the run's length, recorded in its state. */
    abstract Map<String, Object> shape();

    /** The number of updates applied so far: the index of the next one. */
    final long updates() {
        return updates;
    }

    @Override
    public final double lr() {
        return lrAt(updates);
    }

    @Override
    public final void afterUpdate(double loss) {
        updates++;
    }

    @Override
    public final Map<String, Object> stateDict() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("schedule", name());
        state.put("shape", shape());
        state.put("updates", updates);
        return state;
    }

    @Override
    public final void loadStateDict(Map<String, Object> state) {
        Schedules.requireSame(name(), shape(), state);
        long restored = StateMaps.getLong(state, "updates");
        if (restored < 0) {
            throw new IllegalArgumentException("state key 'updates' must be >= 0, got " + restored);
        }
        updates = restored;
    }
}
