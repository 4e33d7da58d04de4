package dev.gradguard.cli.spec;

import dev.gradguard.clip.AbsoluteSpikeGuard;
import dev.gradguard.clip.AgcClip;
import dev.gradguard.clip.AutoClip;
import dev.gradguard.clip.Clip;
import dev.gradguard.clip.GradientPipeline;
import dev.gradguard.clip.GradientTransform;
import dev.gradguard.clip.NormClip;
import dev.gradguard.clip.SpikeGuard;
import dev.gradguard.clip.ThresholdClip;
import dev.gradguard.clip.ValueClip;
import dev.gradguard.clip.ZClip;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Parses {@code --clip} specs into a {@link GradientPipeline}. A spec is {@code none} or a comma-separated chain of
 * policies applied left to right (numbers may be written {@code inf}):
 * <ul>
 *   <li>{@code norm:MAX} and {@code norm:MAX:P} (P a number or {@code inf}): {@link NormClip}</li>
 *   <li>{@code value:V}: {@link ValueClip}</li>
 *   <li>{@code agc:FACTOR}, {@code agc:FACTOR:EPS}, {@code agc:FACTOR:EPS:EXCLUDE}: {@link AgcClip}; EXCLUDE is
 *       {@code none} or {@code +}-joined items, {@code final} for the final layer (the default) and parameter
 *       names, module prefixes or {@code *}-globs, e.g. {@code agc:0.01:0.001:final+embed}</li>
 *   <li>{@code autoclip:P}, {@code autoclip:P:WINDOW}: {@link AutoClip}, unbounded history by default</li>
 *   <li>{@code zclip}, {@code zclip:Z}, {@code zclip:Z:KEY=VALUE...}: {@link ZClip}, keys {@code alpha}, {@code max},
 *       {@code eps}, {@code warmup}, {@code option} ({@code adaptive_scaling} or {@code mean}) and {@code factor},
 *       e.g. {@code zclip:2.0:max=5:warmup=50}</li>
 *   <li>{@code spike}, {@code spike:K}, {@code spike:K:WINDOW}, {@code spike:K:WINDOW:MIN_SAMPLES}: {@link SpikeGuard}
 *       on the grad norm (defaults 6, 128, {@code max(2, WINDOW / 2)}); {@code loss-spike...} the same on the
 *       loss</li>
 *   <li>{@code spike-abs:THRESHOLD}: {@link AbsoluteSpikeGuard}</li>
 * </ul>
 * A value the library refuses is reported with the spec's name for it ({@code FACTOR}, not {@code clipFactor}).
 */
public final class ClipSpecs {
    /** The allowed forms, for error messages and help texts. */
    public static final String ALLOWED = "none, norm:MAX, norm:MAX:P (P a number > 0 or inf), value:V, "
            + "agc:FACTOR[:EPS[:EXCLUDE]], autoclip:P[:WINDOW], zclip[:Z[:KEY=VALUE...]], "
            + "spike[:K[:WINDOW[:MIN_SAMPLES]]], loss-spike[:K[:WINDOW[:MIN_SAMPLES]]], spike-abs:THRESHOLD, "
            + "or a comma-separated chain of these";

    private static final String FINAL_LAYER = "final";
    private static final String NOTHING = "none";
    private static final String ZCLIP_KEYS = "alpha, max, eps, warmup, option, factor";

    private ClipSpecs() {
    }

    /**
     * Whether the policy has a threshold a controller can act on ({@link ThresholdClip}). A policy that does not
     * parse counts as having one: its error is reported where the run parses it.
     */
    public static boolean hasThreshold(String spec) {
        try {
            return ThresholdClip.firstIn(parse(spec)).isPresent();
        } catch (IllegalArgumentException e) {
            return true;
        }
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
        if (trimmed.equalsIgnoreCase(NOTHING)) {
            return Clip.none();
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
                    if (fields.length == 2 || fields.length == 3) {
                        double max = SpecNumbers.number(fields[1], "MAX");
                        double p = fields.length == 3 ? SpecNumbers.number(fields[2], "P") : 2.0;
                        return SpecNumbers.build(() -> Clip.norm(max, p), Map.of("maxNorm", "MAX", "normType", "P"));
                    }
                    break;
                case "value":
                    if (fields.length == 2) {
                        double v = SpecNumbers.number(fields[1], "V");
                        return SpecNumbers.build(() -> Clip.value(v), Map.of("clipValue", "V"));
                    }
                    break;
                case "agc":
                    arity(fields, 1, 3, "agc:FACTOR[:EPS[:EXCLUDE]]");
                    return agc(fields);
                case "autoclip":
                    arity(fields, 1, 2, "autoclip:P[:WINDOW]");
                    double p = SpecNumbers.number(fields[1], "P");
                    int window = fields.length == 2 ? AutoClip.UNBOUNDED : SpecNumbers.integer(fields[2], "WINDOW", 1);
                    return SpecNumbers.build(() -> Clip.autoclip(p, window),
                            Map.of("percentile", "P", "window", "WINDOW"));
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
                    double threshold = SpecNumbers.number(fields[1], "THRESHOLD");
                    return SpecNumbers.build(() -> Clip.spikeAbs(threshold), Map.of("threshold", "THRESHOLD"));
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
        double factor = SpecNumbers.number(fields[1], "FACTOR");
        double eps = fields.length > 2 ? SpecNumbers.number(fields[2], "EPS") : AgcClip.DEFAULT_EPS;
        boolean excludeFinal = fields.length < 4;
        List<String> patterns = new ArrayList<>();
        if (fields.length == 4 && !fields[3].trim().equals(NOTHING)) {
            for (String item : fields[3].split("\\+", -1)) {
                String pattern = item.trim();
                if (pattern.equals(FINAL_LAYER)) {
                    excludeFinal = true;
                } else if (pattern.isEmpty()) {
                    throw new IllegalArgumentException("EXCLUDE has an empty item in '" + fields[3] + "'");
                } else if (pattern.equals(NOTHING)) {
                    throw new IllegalArgumentException("'none' is a keyword, not a pattern; write 'none.*' to exclude a "
                            + "module of that name");
                } else {
                    patterns.add(pattern);
                }
            }
        }
        boolean finalLayer = excludeFinal;
        return SpecNumbers.build(() -> new AgcClip(factor, eps, finalLayer, patterns),
                Map.of("clipFactor", "FACTOR", "eps", "EPS"));
    }

    private static ZClip zclip(String[] fields) {
        ZClip.Options o = ZClip.Options.defaults();
        Set<String> seen = new HashSet<>();
        double z = fields.length > 1 ? SpecNumbers.number(fields[1], "Z") : o.zThresh();
        double alpha = o.alpha();
        double max = o.maxGradNorm();
        double eps = o.eps();
        int warmup = o.warmupSteps();
        ZClip.ClipOption option = o.clipOption();
        double factor = o.clipFactor();
        for (int i = 2; i < fields.length; i++) {
            String[] kv = fields[i].split("=", -1);
            if (kv.length != 2) {
                throw new IllegalArgumentException("'" + fields[i] + "' must be KEY=VALUE with KEY one of " + ZCLIP_KEYS);
            }
            String key = kv[0].trim().toLowerCase(Locale.ROOT);
            if (!seen.add(key)) {
                throw new IllegalArgumentException("key '" + kv[0].trim() + "' is given twice");
            }
            switch (key) {
                case "alpha" -> alpha = SpecNumbers.number(kv[1], key);
                case "max" -> max = SpecNumbers.number(kv[1], key);
                case "eps" -> eps = SpecNumbers.number(kv[1], key);
                case "warmup" -> warmup = SpecNumbers.integer(kv[1], key, 1);
                case "option" -> option = clipOption(kv[1]);
                case "factor" -> factor = SpecNumbers.number(kv[1], key);
                default -> throw new IllegalArgumentException("unknown key '" + kv[0] + "' (allowed: " + ZCLIP_KEYS
                        + ")");
            }
        }
        try {
            return new ZClip(new ZClip.Options(alpha, z, max, eps, warmup, option, factor));
        } catch (IllegalArgumentException e) {
            throw SpecNumbers.respelled(e, Map.of("zThresh", "Z", "maxGradNorm", "max", "warmupSteps", "warmup",
                    "clipFactor", "factor"));
        }
    }

    private static ZClip.ClipOption clipOption(String text) {
        for (ZClip.ClipOption o : ZClip.ClipOption.values()) {
            if (o.authorsName().equals(text.trim().toLowerCase(Locale.ROOT))) {
                return o;
            }
        }
        throw new IllegalArgumentException("option must be adaptive_scaling or mean, got '" + text + "'");
    }

    private static SpikeGuard spike(SpikeGuard.Signal signal, String[] fields) {
        double k = fields.length > 1 ? SpecNumbers.number(fields[1], "K") : SpikeGuard.DEFAULT_K;
        int window = fields.length > 2 ? SpecNumbers.integer(fields[2], "WINDOW", 2) : SpikeGuard.DEFAULT_WINDOW;
        int minSamples = fields.length > 3 ? SpecNumbers.integer(fields[3], "MIN_SAMPLES", 2)
                : SpikeGuard.defaultMinSamples(window);
        return SpecNumbers.build(() -> new SpikeGuard(signal, k, window, minSamples),
                Map.of("k", "K", "window", "WINDOW", "minSamples", "MIN_SAMPLES"));
    }
}
