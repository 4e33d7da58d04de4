package dev.gradguard.compare;

import dev.gradguard.cli.spec.ClipSpecs;
import dev.gradguard.cli.spec.ControllerSpecs;
import dev.gradguard.run.GuardSettings;
import dev.gradguard.run.TrainSettings;

/**
 * One policy of a comparison: a clip policy as {@code --clip} takes it and a controller as {@code --controller}
 * takes it. Written {@code CLIP} (no controller) or {@code CLIP@CONTROLLER}, e.g. {@code zclip@auto}.
 *
 * @param clip the clip policy
 * @param controller the controller, {@code none} for none
 */
public record Policy(String clip, String controller) {
    /** The word that names {@code train}'s default policy in {@code --policies}. */
    public static final String DEFAULT_WORD = "default";

    /**
     * Reads a policy, checking both parts.
     *
     * @throws IllegalArgumentException naming the part that is not a valid clip policy or controller
     */
    public static Policy parse(String text) {
        String trimmed = text.trim();
        int at = trimmed.indexOf('@');
        Policy p = at < 0 ? new Policy(trimmed, "none")
                : new Policy(trimmed.substring(0, at).trim(), trimmed.substring(at + 1).trim());
        ControllerSpecs.parse(p.controller(), ClipSpecs.parse(p.clip()));
        return p;
    }

    /** The policy {@code train} uses when neither {@code --clip} nor {@code --controller} is given. */
    public static Policy trainDefault() {
        GuardSettings d = TrainSettings.defaults().guard();
        return new Policy(d.clip(), d.controller());
    }

    /**
     * {@code text} read as a policy, or {@link #trainDefault()} when it is the word {@value #DEFAULT_WORD}.
     *
     * @throws IllegalArgumentException as {@link #parse}
     */
    public static Policy resolve(String text) {
        return text.trim().equalsIgnoreCase(DEFAULT_WORD) ? trainDefault() : parse(text);
    }

    /** The policy as {@link #parse} reads it: {@code CLIP}, or {@code CLIP@CONTROLLER} when it has a controller. */
    public String spec() {
        return controller.equalsIgnoreCase("none") ? clip : clip + "@" + controller;
    }
}
