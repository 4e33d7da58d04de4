package dev.gradguard.state;

import java.util.Map;

/**
 * A component whose per-run state must survive a checkpoint: clipping histories, controllers, guard
 * counters, schedules, random generators, data positions.
 *
 * <p>The state is a plain JSON-compatible map (numbers, strings, booleans, lists and maps of those), so a
 * checkpoint can store it next to the model's own archive and a person can read it.
 */
public interface Stateful {

    /** A snapshot of the state; later changes to this component do not change the returned map. */
    Map<String, Object> stateDict();

    /**
     * Restores a snapshot taken by {@link #stateDict()} of a component configured the same way.
     *
     * @throws IllegalArgumentException if the map misses a key or holds a value of the wrong kind
     */
    void loadStateDict(Map<String, Object> state);
}
