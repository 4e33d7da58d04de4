package dev.gradguard.run;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * How long training runs, on what batches, and from which weights it starts.
 *
 * @param steps training steps
 * @param batchSize sequences per batch (the global batch in data-parallel runs)
 * @param accumulate micro-batches per step
 * @param seed the seed of the weights and the data
 * @param initFrom a safetensors file of starting weights, or empty for the seed's
 */
@JsonNaming(PropertyNamingStrategies.KebabCaseStrategy.class)
public record LoopSettings(long steps, int batchSize, int accumulate, long seed, String initFrom) {

    static final LoopSettings DEFAULTS = new LoopSettings(1500, 64, 1, 0, "");

    static final List<Setting> KEYS = List.of(
            Setting.integer("steps", 1, Long.MAX_VALUE),
            Setting.integer("batch-size", 1, 1_000_000),
            Setting.integer("accumulate", 1, 1_000_000),
            Setting.integer("seed", 0, Long.MAX_VALUE),
            Setting.optionalText("init-from", "a .safetensors file of the model's weights (gradguard export)"));

    /** The starting weights' file, when one is set. */
    public Optional<Path> initFromPath() {
        return SettingValues.path(initFrom);
    }
}
