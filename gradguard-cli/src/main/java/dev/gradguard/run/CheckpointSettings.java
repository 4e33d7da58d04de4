package dev.gradguard.run;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/**
 * When a run checkpoints, how many checkpoints it keeps, and how often a spike may roll it back to one.
 *
 * @param checkpointEvery steps between checkpoints; 0 for one at the end only
 * @param keepCheckpoints checkpoints kept
 * @param rollback rollbacks to the last checkpoint allowed on spikes; 0 for none
 */
@JsonNaming(PropertyNamingStrategies.KebabCaseStrategy.class)
public record CheckpointSettings(long checkpointEvery, int keepCheckpoints, int rollback) {

    static final CheckpointSettings DEFAULTS = new CheckpointSettings(0, 3, 0);

    static final List<Setting> KEYS = List.of(
            Setting.integer("checkpoint-every", 0, Long.MAX_VALUE,
                    "an integer >= 0 (steps between checkpoints; 0 = only at the end)"),
            Setting.integer("keep-checkpoints", 1, 1_000_000),
            Setting.integer("rollback", 0, 1_000_000,
                    "an integer >= 0 (rollbacks to the last checkpoint allowed on spikes; 0 = off)"));
}
