package dev.gradguard.clip;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Parses {@code --clip} specs into a {@link GradientPipeline}. A spec is {@code none} or a
 * comma-separated chain of policies applied left to right:
 * <ul>
 *   <li>{@code norm:MAX} and {@code norm:MAX:P} (P a number or {@code inf}): {@link NormClip}</li>
 *   <li>{@code value:V}: {@link ValueClip}</li>
 * </ul>
 */
public final class ClipPolicies {
    /** The allowed forms, for error messages and help texts. */
    public static final String ALLOWED = "none, norm:MAX, norm:MAX:P (P a number > 0 or inf), value:V, "
            + "or a comma-separated chain of these";

    private ClipPolicies() {
    }

    /**
     * @throws IllegalArgumentException naming the bad part and the allowed forms
     */
    public static GradientPipeline parse(String spec) {
        String trimmed = spec == null ? "" : spec.trim();
        if (trimmed.isEmpty()) {
            throw new IllegalArgumentException("clip policy is empty (allowed: " + ALLOWED + ")");
        }
        if (trimmed.equalsIgnoreCase("none")) {
            return GradientPipeline.of();
        }
        List<GradientTransform> transforms = new ArrayList<>();
        for (String part : trimmed.split(",")) {
            transforms.add(parseOne(part.trim(), trimmed));
        }
        return GradientPipeline.of(transforms);
    }

    private static GradientTransform parseOne(String part, String whole) {
        String[] fields = part.split(":", -1);
        String kind = fields[0].toLowerCase(Locale.ROOT);
        try {
            switch (kind) {
                case "norm":
                    if (fields.length == 2) {
                        return new NormClip(number(fields[1], "MAX"), 2.0);
                    }
                    if (fields.length == 3) {
                        return new NormClip(number(fields[1], "MAX"), number(fields[2], "P"));
                    }
                    break;
                case "value":
                    if (fields.length == 2) {
                        return new ValueClip(number(fields[1], "V"));
                    }
                    break;
                default:
                    break;
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("clip policy '" + part + "': " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("unknown clip policy '" + part + "'"
                + (part.equals(whole) ? "" : " in '" + whole + "'") + " (allowed: " + ALLOWED + ")");
    }

    private static double number(String text, String what) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("inf") || t.equals("infinity")) {
            return Double.POSITIVE_INFINITY;
        }
        try {
            return Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " must be a number, got '" + text + "'", e);
        }
    }

    /** A number as specs write it: {@code 1.0}, {@code 0.5}, {@code inf}. */
    static String format(double v) {
        if (v == Double.POSITIVE_INFINITY) {
            return "inf";
        }
        return Double.toString(v);
    }
}
