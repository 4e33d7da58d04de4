package dev.gradguard.control;

import dev.gradguard.clip.GradientPipeline;
import dev.gradguard.clip.PipelineReport;
import dev.gradguard.clip.ThresholdClip;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Parses {@code --control} specs into a {@link Controller}:
 * <ul>
 *   <li>{@code none}: the learning rate and the thresholds are left alone;</li>
 *   <li>{@code auto}: an {@link AutoController} with its defaults;</li>
 *   <li>{@code auto:KEY=VALUE,KEY=VALUE...}: the same with some settings changed, keys (case-insensitive)
 *       {@code N, factor, floor, near, M, warmup, relax, cap, cv}, e.g.
 *       {@code auto:N=20,factor=0.5,floor=0.01,M=200,relax=1.5,cap=4}.</li>
 * </ul>
 * The controller's {@link Controller#spec()} lists the settings that differ from the defaults, in the
 * order above, and parses back to the same controller.
 */
public final class Controllers {
    /** The allowed forms, for error messages and help texts. */
    public static final String ALLOWED = "none, auto, or auto:KEY=VALUE[,KEY=VALUE...] with keys "
            + "N, factor, floor, near, M, warmup, relax, cap, cv";

    private static final Controller NONE = new Controller() {
        @Override
        public String spec() {
            return "none";
        }

        @Override
        public List<ControlDecision> observe(long step, PipelineReport clip, boolean updateApplied) {
            return List.of();
        }

        @Override
        public double lrScale() {
            return 1.0;
        }

        @Override
        public Map<String, Object> stateDict() {
            return Map.of();
        }

        @Override
        public void loadStateDict(Map<String, Object> state) {
            if (!state.isEmpty()) {
                throw new IllegalArgumentException("controller 'none' has no state, but the checkpoint holds "
                        + state.keySet());
            }
        }
    };

    private Controllers() {
    }

    /** The controller that changes nothing: scale 1, no decisions, no state. */
    public static Controller none() {
        return NONE;
    }

    /**
     * The automatic controller with its defaults, acting on the first threshold policy (norm, ZClip, AutoClip) of
     * {@code pipeline}: it lowers the learning rate when norms keep pressing the threshold, and relaxes the
     * threshold after calm steps.
     *
     * @throws IllegalArgumentException when the pipeline has no threshold policy to act on
     */
    public static Controller auto(GradientPipeline pipeline) {
        return auto(pipeline, AutoController.Options.defaults());
    }

    /** {@link #auto(GradientPipeline)} with the given options. */
    public static Controller auto(GradientPipeline pipeline, AutoController.Options options) {
        ThresholdClip target = ThresholdClip.firstIn(pipeline).orElseThrow(() -> new IllegalArgumentException(
                "the auto controller needs a clip policy with a threshold it can act on (norm, zclip, autoclip), "
                        + "but the pipeline is '" + pipeline.spec() + "'"));
        return new AutoController(options, target);
    }

    /**
     * @param spec the controller's spec
     * @param pipeline the run's gradient pipeline; {@code auto} acts on its first {@link ThresholdClip}
     * @throws IllegalArgumentException naming the bad part and the allowed forms, or saying that
     *     {@code auto} found no threshold to act on
     */
    public static Controller parse(String spec, GradientPipeline pipeline) {
        Objects.requireNonNull(pipeline, "pipeline");
        String trimmed = spec == null ? "" : spec.trim();
        if (trimmed.equalsIgnoreCase("none")) {
            return NONE;
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
        ThresholdClip target = ThresholdClip.firstIn(pipeline).orElseThrow(() -> new IllegalArgumentException(
                "controller '" + trimmed + "' needs a clip policy with a threshold it can act on (e.g. zclip), "
                        + "but the clip policy is '" + pipeline.spec() + "'"));
        return new AutoController(options, target);
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
                case "factor" -> factor = number(value, "factor");
                case "floor" -> floor = number(value, "floor");
                case "near" -> near = number(value, "near");
                case "m" -> m = integer(value, "M");
                case "warmup" -> warmup = integer(value, "warmup");
                case "relax" -> relax = number(value, "relax");
                case "cap" -> cap = number(value, "cap");
                case "cv" -> cv = number(value, "cv");
                default -> throw new IllegalArgumentException("unknown key '" + kv[0].trim() + "'");
            }
        }
        return new AutoController.Options(n, factor, floor, near, m, warmup, relax, cap, cv);
    }

    /** {@code auto}, or {@code auto:} and the settings that differ from the defaults. */
    static String spec(AutoController.Options o) {
        AutoController.Options d = AutoController.Options.defaults();
        List<String> pairs = new ArrayList<>();
        if (o.nearSteps() != d.nearSteps()) {
            pairs.add("N=" + o.nearSteps());
        }
        if (o.lrFactor() != d.lrFactor()) {
            pairs.add("factor=" + o.lrFactor());
        }
        if (o.lrFloor() != d.lrFloor()) {
            pairs.add("floor=" + o.lrFloor());
        }
        if (o.nearFraction() != d.nearFraction()) {
            pairs.add("near=" + o.nearFraction());
        }
        if (o.stableSteps() != d.stableSteps()) {
            pairs.add("M=" + o.stableSteps());
        }
        if (o.warmupSteps() != d.warmupSteps()) {
            pairs.add("warmup=" + o.warmupSteps());
        }
        if (o.relaxFactor() != d.relaxFactor()) {
            pairs.add("relax=" + o.relaxFactor());
        }
        if (o.relaxCap() != d.relaxCap()) {
            pairs.add("cap=" + o.relaxCap());
        }
        if (o.maxCv() != d.maxCv()) {
            pairs.add("cv=" + number(o.maxCv()));
        }
        return pairs.isEmpty() ? "auto" : "auto:" + String.join(",", pairs);
    }

    private static String number(double v) {
        return v == Double.POSITIVE_INFINITY ? "inf" : Double.toString(v);
    }

    private static double number(String text, String what) {
        if (text.equalsIgnoreCase("inf")) {
            return Double.POSITIVE_INFINITY;
        }
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " must be a number, got '" + text + "'", e);
        }
    }

    private static int integer(String text, String what) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " must be an integer, got '" + text + "'", e);
        }
    }
}
