package dev.gradguard.cli.spec;

import dev.gradguard.clip.GradientPipeline;
import dev.gradguard.control.AutoController;
import dev.gradguard.control.Controller;
import dev.gradguard.control.Controllers;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Parses {@code --controller} specs into a {@link Controller} through {@link Controllers}' factories:
 * <ul>
 *   <li>{@code none}: the learning rate and the thresholds are left alone;</li>
 *   <li>{@code auto}: an {@link AutoController} with its defaults;</li>
 *   <li>{@code auto:KEY=VALUE,KEY=VALUE...}: the same with some settings changed, keys (case-insensitive)
 *       {@code N, factor, floor, near, M, warmup, relax, cap, cv} for {@link AutoController.Options}' nearSteps,
 *       lrFactor, lrFloor, nearFraction, stableSteps, warmupSteps, relaxFactor, relaxCap and maxCv, e.g.
 *       {@code auto:N=20,factor=0.5,floor=0.01,M=200,relax=1.5,cap=4}.</li>
 * </ul>
 */
public final class ControllerSpecs {
    /** The allowed forms, for error messages and help texts. */
    public static final String ALLOWED = "none, auto, or auto:KEY=VALUE[,KEY=VALUE...] with keys "
            + "N, factor, floor, near, M, warmup, relax, cap, cv";

    /** The library's name of each option, and the spec's. */
    private static final Map<String, String> KEYS = Map.of("nearSteps", "N", "lrFactor", "factor", "lrFloor", "floor",
            "nearFraction", "near", "stableSteps", "M", "warmupSteps", "warmup", "relaxFactor", "relax", "relaxCap",
            "cap", "maxCv", "cv");

    private ControllerSpecs() {
    }

    /**
     * @param spec the controller's spec
     * @param pipeline the run's gradient pipeline; {@code auto} acts on its first threshold policy
     * @throws IllegalArgumentException naming the bad part and the allowed forms, or saying that {@code auto} found
     *     no threshold to act on
     */
    public static Controller parse(String spec, GradientPipeline pipeline) {
        Objects.requireNonNull(pipeline, "pipeline");
        String trimmed = spec == null ? "" : spec.trim();
        if (trimmed.equalsIgnoreCase("none")) {
            return Controllers.none();
        }
        String lower = trimmed.toLowerCase(Locale.ROOT);
        if (!lower.equals("auto") && !lower.startsWith("auto:")) {
            throw new IllegalArgumentException("unknown controller '" + trimmed + "' (allowed: " + ALLOWED + ")");
        }
        AutoController.Options options;
        try {
            options = lower.equals("auto") ? AutoController.Options.defaults() : options(trimmed.substring(5));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("controller '" + trimmed + "': " + e.getMessage() + " (allowed: "
                    + ALLOWED + ")", e);
        }
        try {
            return Controllers.auto(pipeline, options);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("controller '" + trimmed + "': " + e.getMessage(), e);
        }
    }

    private static AutoController.Options options(String pairs) {
        AutoController.Options d = AutoController.Options.defaults();
        int n = d.nearSteps();
        double factor = d.lrFactor();
        double floor = d.lrFloor();
        double near = d.nearFraction();
        int m = d.stableSteps();
        long warmup = d.warmupSteps();
        double relax = d.relaxFactor();
        double cap = d.relaxCap();
        double cv = d.maxCv();
        Set<String> seen = new LinkedHashSet<>();
        for (String pair : pairs.split(",", -1)) {
            String[] kv = pair.split("=", -1);
            if (kv.length != 2) {
                throw new IllegalArgumentException("'" + pair.trim() + "' must be KEY=VALUE");
            }
            String key = kv[0].trim().toLowerCase(Locale.ROOT);
            if (!seen.add(key)) {
                throw new IllegalArgumentException("key '" + kv[0].trim() + "' is given twice");
            }
            String value = kv[1].trim();
            switch (key) {
                case "n" -> n = integer(value, "N");
                case "factor" -> factor = SpecNumbers.number(value, "factor");
                case "floor" -> floor = SpecNumbers.number(value, "floor");
                case "near" -> near = SpecNumbers.number(value, "near");
                case "m" -> m = integer(value, "M");
                case "warmup" -> warmup = integer(value, "warmup");
                case "relax" -> relax = SpecNumbers.number(value, "relax");
                case "cap" -> cap = SpecNumbers.number(value, "cap");
                case "cv" -> cv = SpecNumbers.number(value, "cv");
                default -> throw new IllegalArgumentException("unknown key '" + kv[0].trim() + "'");
            }
        }
        try {
            return new AutoController.Options(n, factor, floor, near, m, warmup, relax, cap, cv);
        } catch (IllegalArgumentException e) {
            throw SpecNumbers.respelled(e, KEYS);
        }
    }

    private static int integer(String text, String field) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + " must be an integer, got '" + text + "'", e);
        }
    }
}
