package dev.gradguard.run;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import dev.gradguard.cli.spec.ClipSpecs;
import dev.gradguard.cli.spec.ControllerSpecs;
import java.util.List;

/**
 * What guards the steps: the clip policy, its controller, the stop after non-finite steps, and the faults
 * injected to watch the guard work.
 *
 * @param clip the clip policy, as {@code --clip} takes it
 * @param controller the controller, as {@code --controller} takes it
 * @param maxNonfinite consecutive non-finite steps that stop the run
 * @param injectNonfinite steps whose gradients are poisoned with NaN
 */
@JsonNaming(PropertyNamingStrategies.KebabCaseStrategy.class)
public record GuardSettings(String clip, String controller, int maxNonfinite, List<Long> injectNonfinite) {

    /** train's policy when neither {@code --clip} nor {@code --controller} is given. */
    static final GuardSettings DEFAULTS = new GuardSettings("norm:1.0", "none", 20, List.of());

    static final List<Setting> KEYS = List.of(
            Setting.text("clip", "a clip policy (" + ClipSpecs.ALLOWED + ")"),
            Setting.text("controller", "a controller (" + ControllerSpecs.ALLOWED + ")"),
            Setting.integer("max-nonfinite", 1, Integer.MAX_VALUE),
            Setting.stepList("inject-nonfinite"));

    public GuardSettings {
        injectNonfinite = List.copyOf(injectNonfinite);
    }
}
