package dev.gradguard.clip;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Parses {@code --clip} specs into a {@link GradientPipeline}. A spec is {@code none} or a
 * comma-separated chain of policies applied left to right (numbers may be written {@code inf}):
 * <ul>
 *   <li>{@code norm:MAX} and {@code norm:MAX:P} (P a number or {@code inf}): {@link NormClip}</li>
 *   <li>{@code value:V}: {@link ValueClip}</li>
 *   <li>{@code agc:FACTOR}, {@code agc:FACTOR:EPS}, {@code agc:FACTOR:EPS:EXCLUDE}: {@link AgcClip}; EXCLUDE
 *       is {@code none} or {@code +}-joined items, {@code final} for the final layer (the default) and
 *       parameter names, module prefixes or {@code *}-globs, e.g. {@code agc:0.01:0.001:final+embed}</li>
 *   <li>{@code autoclip:P}, {@code autoclip:P:WINDOW}: {@link AutoClip}, unbounded history by default</li>
 *   <li>{@code zclip}, {@code zclip:Z}, {@code zclip:Z:KEY=VALUE...}: {@link ZClip}, keys {@code alpha},
 *       {@code max}, {@code eps}, {@code warmup}, {@code option} ({@code adaptive_scaling} or {@code mean})
 *       and {@code factor}, e.g. {@code zclip:2.0:max=5:warmup=50}</li>
 *   <li>{@code spike}, {@code spike:K}, {@code spike:K:WINDOW}, {@code spike:K:WINDOW:MIN_SAMPLES}:
 *       {@link SpikeGuard} on the grad norm (defaults 6, 128, {@code max(2, WINDOW / 2)});
 *       {@code loss-spike...} the same on the loss</li>
 *   <li>{@code spike-abs:THRESHOLD}: {@link AbsoluteSpikeGuard}</li>
 * </ul>
 * Every transform's {@code spec()} parses back to the same configuration.
 */
public final class ClipPolicies {
    /** The allowed forms, for error messages and help texts. */
    public static final String ALLOWED = "none, norm:MAX, norm:MAX:P (P a number > 0 or inf), value:V, "
            + "agc:FACTOR[:EPS[:EXCLUDE]], autoclip:P[:WINDOW], zclip[:Z[:KEY=VALUE...]], "
            + "spike[:K[:WINDOW[:MIN_SAMPLES]]], loss-spike[:K[:WINDOW[:MIN_SAMPLES]]], spike-abs:THRESHOLD, "
            + "or a comma-separated chain of these";

    private ClipPolicies() {
    }

    /**
     * @throws IllegalArgumentException naming the bad part and the allowed forms; an empty policy or an empty
     *     part of a chain ({@code ","}, {@code "norm:1,"}) is one
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
        for (String part : trimmed.split(",", -1)) {
            if (part.isBlank()) {
                throw new IllegalArgumentException("clip policy '" + trimmed + "' has an empty part (a stray comma?); "
                        + "allowed: " + ALLOWED);
            }
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
                case "agc":
                    arity(fields, 1, 3, "agc:FACTOR[:EPS[:EXCLUDE]]");
                    return agc(fields);
                case "autoclip":
                    arity(fields, 1, 2, "autoclip:P[:WINDOW]");
                    return fields.length == 2 ? new AutoClip(number(fields[1], "P"))
                            : new AutoClip(number(fields[1], "P"), integer(fields[2], "WINDOW", 1));
                case "zclip":
                    return zclip(fields);
                case "spike":
                    arity(fields, 0, 3, "spike[:K[:WINDOW[:MIN_SAMPLES]]]");
                    return spike(SpikeGuard.Signal.GRAD_NORM, fields);
                case "loss-spike":
                    arity(fields, 0, 3, "loss-spike[:K[:WINDOW[:MIN_SAMPLES]]]");
                    return spike(SpikeGuard.Signal.LOSS, fields);
                case "spike-abs":
                    arity(fields, 1, 1, "spike-abs:THRESHOLD");
                    return new AbsoluteSpikeGuard(number(fields[1], "THRESHOLD"));
                default:
                    break;
            }
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("clip policy '" + part + "': " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("unknown clip policy '" + part + "'"
                + (part.equals(whole) ? "" : " in '" + whole + "'") + " (allowed: " + ALLOWED + ")");
    }

    private static void arity(String[] fields, int min, int max, String form) {
        int given = fields.length - 1;
        if (given < min || given > max) {
            String expected = min == max ? String.valueOf(min) : min + " to " + max;
            throw new IllegalArgumentException(fields[0] + " takes " + expected + " argument(s) (" + form + "), got "
                    + given);
        }
    }

    private static AgcClip agc(String[] fields) {
        double factor = number(fields[1], "FACTOR");
        double eps = fields.length > 2 ? number(fields[2], "EPS") : AgcClip.DEFAULT_EPS;
        if (fields.length < 4) {
            return new AgcClip(factor, eps, true, List.of());
        }
        boolean excludeFinal = false;
        List<String> patterns = new ArrayList<>();
        String exclude = fields[3].trim();
        if (!exclude.equals(AgcClip.NOTHING)) {
            for (String item : exclude.split("\\+", -1)) {
                if (item.trim().equals(AgcClip.FINAL_LAYER)) {
                    excludeFinal = true;
                } else {
                    patterns.add(item.trim());
                }
            }
        }
        return new AgcClip(factor, eps, excludeFinal, patterns);
    }

    private static ZClip zclip(String[] fields) {
        ZClip.Options o = ZClip.Options.defaults();
        Set<String> seen = new HashSet<>();
        if (fields.length > 1) {
            o = o.withZThresh(number(fields[1], "Z"));
        }
        for (int i = 2; i < fields.length; i++) {
            String[] kv = fields[i].split("=", -1);
            if (kv.length != 2) {
                throw new IllegalArgumentException("'" + fields[i] + "' must be KEY=VALUE with KEY one of "
                        + "alpha, max, eps, warmup, option, factor");
            }
            String key = kv[0].trim().toLowerCase(Locale.ROOT);
            if (!seen.add(key)) {
                throw new IllegalArgumentException("key '" + kv[0].trim() + "' is given twice");
            }
            switch (key) {
                case "alpha" -> o = o.withAlpha(number(kv[1], key));
                case "max" -> o = o.withMaxGradNorm(number(kv[1], key));
                case "eps" -> o = o.withEps(number(kv[1], key));
                case "warmup" -> o = o.withWarmupSteps(integer(kv[1], key, 1));
                case "option" -> o = o.withClipOption(ZClip.ClipOption.fromSpecName(kv[1]));
                case "factor" -> o = o.withClipFactor(number(kv[1], key));
                default -> throw new IllegalArgumentException("unknown key '" + kv[0] + "' (allowed: alpha, max, eps, "
                        + "warmup, option, factor)");
            }
        }
        return new ZClip(o);
    }

    private static SpikeGuard spike(SpikeGuard.Signal signal, String[] fields) {
        double k = fields.length > 1 ? number(fields[1], "K") : SpikeGuard.DEFAULT_K;
        int window = fields.length > 2 ? integer(fields[2], "WINDOW", 2) : SpikeGuard.DEFAULT_WINDOW;
        int minSamples = fields.length > 3 ? integer(fields[3], "MIN_SAMPLES", 2) : SpikeGuard.defaultMinSamples(window);
        return new SpikeGuard(signal, k, window, minSamples);
    }

    private static int integer(String text, String what, int min) {
        int value;
        try {
            value = Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " must be an integer >= " + min + ", got '" + text + "'", e);
        }
        if (value < min) {
            throw new IllegalArgumentException(what + " must be an integer >= " + min + ", got " + value);
        }
        return value;
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
