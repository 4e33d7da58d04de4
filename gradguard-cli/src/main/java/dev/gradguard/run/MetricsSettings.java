package dev.gradguard.run;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where TensorBoard's event files go and how often they get per-parameter gradient norms.
 *
 * @param tensorboard the event files' directory, or empty for the run directory
 * @param gradNormEvery steps between per-parameter gradient norms; 0 for never
 */
@JsonNaming(PropertyNamingStrategies.KebabCaseStrategy.class)
public record MetricsSettings(String tensorboard, int gradNormEvery) {

    static final MetricsSettings DEFAULTS = new MetricsSettings("", 100);

    static final List<Setting> KEYS = List.of(
            Setting.optionalDirectory("tensorboard", "a directory for TensorBoard event files"),
            Setting.integer("grad-norm-every", 0, Integer.MAX_VALUE,
                    "an integer >= 0 (steps between per-parameter gradient norms in TensorBoard; 0 = never)"));

    /** The event files' directory, when one is set. */
    public Optional<Path> tensorboardDirectory() {
        return SettingValues.path(tensorboard);
    }
}
