package dev.gradguard.run;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import dev.gradguard.cli.spec.ClipSpecs;
import dev.gradguard.cli.spec.ControllerSpecs;
import dev.gradguard.cli.spec.DivergenceSpecs;
import java.util.List;

/**
 * What guards the steps: the clip policy, its controller, the stops after non-finite steps and after a
 * diverging loss, and the faults injected to watch the guard work.
 *
 * @param clip the clip policy, as {@code --clip} takes it
 * @param controller the controller, as {@code --controller} takes it
 * @param maxNonfinite consecutive non-finite steps that stop the run
 * @param divergenceStop when a run whose loss runs away stops: {@code off} or {@code FACTOR:STEPS}
 * @param injectNonfinite steps whose gradients are poisoned with NaN
 */
@JsonNaming(PropertyNamingStrategies.KebabCaseStrategy.class)
public record GuardSettings(String clip, String controller, int maxNonfinite, String divergenceStop,
        List<Long> injectNonfinite) {

    /**
     * train's policy when neither {@code --clip} nor {@code --controller} is given: norm clipping at 1 with the
     * {@code auto} controller, chosen from the measured stability maps (README: The stability map). Where
     * {@code --clip} has no threshold for the controller to act on, the default controller is {@code none}
     * ({@link SettingsLayers#resolve()}).
     */
    static final GuardSettings DEFAULTS = new GuardSettings("norm:1.0", "auto", 20, "10:100", List.of());

    static final List<Setting> KEYS = List.of(
            Setting.text("clip", "a clip policy (" + ClipSpecs.ALLOWED + ")"),
            Setting.text("controller", "a controller (" + ControllerSpecs.ALLOWED + ")"),
            Setting.integer("max-nonfinite", 1, Integer.MAX_VALUE),
            Setting.text("divergence-stop", DivergenceSpecs.ALLOWED),
            Setting.stepList("inject-nonfinite"));

    public GuardSettings {
        injectNonfinite = List.copyOf(injectNonfinite);
    }
}
