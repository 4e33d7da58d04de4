package dev.gradguard.control;

import dev.gradguard.clip.PipelineReport;
import dev.gradguard.clip.ThresholdClip;
import dev.gradguard.state.StateMaps;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Two rules that tune a run from its gradient norms, each logged as a {@link ControlDecision}:
 * <ol>
 *   <li><b>Lower the learning rate</b> when the pre-clip norm has been above {@code nearFraction * threshold}
 *       for {@code nearSteps} steps in a row (a NaN or infinite norm counts as above): the LR scale becomes
 *       {@code max(scale * lrFactor, lrFloor)}. The count then restarts, and so does the stable window of
 *       rule 2. At the floor the count restarts without a decision.</li>
 *   <li><b>Relax the threshold</b> when training is stable: the last {@code stableSteps} steps, all at or after
 *       step {@code warmupSteps}, were neither clipped (by any transform) nor skipped, and the coefficient of
 *       variation of their pre-clip norms (population std / mean) is below {@code maxCv}. The threshold becomes
 *       {@code min(threshold * relaxFactor, relaxCap * initialThreshold)}, where {@code initialThreshold} is the
 *       target's threshold when this controller was made. The window then restarts. At the cap the window
 *       restarts without a decision. A clipped, skipped or non-finite step empties the window.</li>
 * </ol>
 * Rule 1 is checked first; a step makes at most one decision. {@code threshold} is the target's threshold
 * as the step saw it.
 *
 * <p>State: the LR scale, the initial and the current threshold (restored into the target on load, so a
 * checkpoint restores the relaxed threshold whichever of pipeline and controller is loaded last), the
 * count of near-threshold steps and the stable window's norms.
 *
 * <p>References: Pascanu, Mikolov and Bengio, "On the difficulty of training recurrent neural networks",
 * ICML 2013 (thresholds from half to ten times the average norm still converge).
 */
public final class AutoController implements Controller {

    /**
     * The controller's settings.
     *
     * @param nearSteps near-threshold steps in a row that lower the LR, {@code >= 1}; default 20
     * @param lrFactor the LR scale's multiplier, in {@code (0, 1)}; default 0.5
     * @param lrFloor the lowest LR scale, in {@code (0, 1]}; default 0.01
     * @param nearFraction the fraction of the threshold that counts as near, {@code > 0}; default 0.9
     * @param stableSteps unclipped, unskipped steps that make a stable window, {@code >= 2}; default 200
     * @param warmupSteps the first step that may enter the stable window, {@code >= 0}; default 100
     * @param relaxFactor the threshold's multiplier, finite and {@code > 1}; default 1.5
     * @param relaxCap the highest threshold as a multiple of the initial one, finite and {@code >= 1};
     *     default 4
     * @param maxCv the bound on the window's coefficient of variation, {@code > 0}; default 0.5
     */
    public record Options(int nearSteps, double lrFactor, double lrFloor, double nearFraction, int stableSteps,
            long warmupSteps, double relaxFactor, double relaxCap, double maxCv) {

        /** @throws IllegalArgumentException naming the first bad field */
        public Options {
            if (nearSteps < 1) {
                throw new IllegalArgumentException("nearSteps must be >= 1, got " + nearSteps);
            }
            if (!(lrFactor > 0 && lrFactor < 1)) {
                throw new IllegalArgumentException("lrFactor must be in (0, 1), got " + lrFactor);
            }
            if (!(lrFloor > 0 && lrFloor <= 1)) {
                throw new IllegalArgumentException("lrFloor must be in (0, 1], got " + lrFloor);
            }
            if (!(nearFraction > 0 && Double.isFinite(nearFraction))) {
                throw new IllegalArgumentException("nearFraction must be a finite number > 0, got " + nearFraction);
            }
            if (stableSteps < 2) {
                throw new IllegalArgumentException("stableSteps must be >= 2, got " + stableSteps);
            }
            if (warmupSteps < 0) {
                throw new IllegalArgumentException("warmupSteps must be >= 0, got " + warmupSteps);
            }
            if (!(relaxFactor > 1 && Double.isFinite(relaxFactor))) {
                throw new IllegalArgumentException("relaxFactor must be a finite number > 1, got " + relaxFactor);
            }
            if (!(relaxCap >= 1 && Double.isFinite(relaxCap))) {
                throw new IllegalArgumentException("relaxCap must be a finite number >= 1, got " + relaxCap);
            }
            if (!(maxCv > 0)) {
                throw new IllegalArgumentException("maxCv must be a number > 0, got " + maxCv);
            }
        }

        public static Options defaults() {
            return new Options(20, 0.5, 0.01, 0.9, 200, 100, 1.5, 4.0, 0.5);
        }
    }

    private final Options options;
    private final ThresholdClip target;
    private double initialThreshold;
    private double lrScale = 1.0;
    private int nearCount;
    private final ArrayDeque<Double> stableNorms = new ArrayDeque<>();

    /**
     * @param options the settings
     * @param target the threshold the rules read and rule 2 raises; its current threshold becomes the
     *     initial one
     */
    public AutoController(Options options, ThresholdClip target) {
        this.options = Objects.requireNonNull(options, "options");
        this.target = Objects.requireNonNull(target, "target");
        this.initialThreshold = target.threshold();
    }

    public Options options() {
        return options;
    }

    /** The target's threshold when this controller was made (or as the loaded checkpoint says). */
    public double initialThreshold() {
        return initialThreshold;
    }

    @Override
    public double lrScale() {
        return lrScale;
    }

    @Override
    public List<ControlDecision> observe(long step, PipelineReport clip, boolean updateApplied) {
        double norm = clip.preClipNorm();
        double threshold = target.threshold();
        nearCount = norm <= options.nearFraction() * threshold ? 0 : nearCount + 1;
        if (nearCount >= options.nearSteps()) {
            nearCount = 0;
            stableNorms.clear();
            double lowered = Math.max(lrScale * options.lrFactor(), options.lrFloor());
            if (lowered >= lrScale) {
                return List.of();
            }
            ControlDecision d = new ControlDecision(step, ControlDecision.Kind.LOWER_LR, lrScale, lowered,
                    String.format(Locale.ROOT, "lr scale %.6g -> %.6g (floor %s): pre-clip norm above %s x "
                            + "threshold %.6g for %d steps in a row (last %.6g)", lrScale, lowered, options.lrFloor(),
                            options.nearFraction(), threshold, options.nearSteps(), norm));
            lrScale = lowered;
            return List.of(d);
        }
        if (step < options.warmupSteps()) {
            return List.of();
        }
        if (clip.clipped() || !updateApplied || !Double.isFinite(norm)) {
            stableNorms.clear();
            return List.of();
        }
        stableNorms.addLast(norm);
        if (stableNorms.size() > options.stableSteps()) {
            stableNorms.removeFirst();
        }
        if (stableNorms.size() < options.stableSteps()) {
            return List.of();
        }
        double cv = coefficientOfVariation();
        if (!(cv < options.maxCv())) {
            return List.of();
        }
        stableNorms.clear();
        double relaxed = Math.min(threshold * options.relaxFactor(), options.relaxCap() * initialThreshold);
        if (!(relaxed > threshold)) {
            return List.of();
        }
        target.setThreshold(relaxed);
        return List.of(new ControlDecision(step, ControlDecision.Kind.RELAX_THRESHOLD, threshold, relaxed,
                String.format(Locale.ROOT, "threshold %.6g -> %.6g (cap %s x %.6g): no clipped or skipped step "
                        + "in the last %d steps and the norm's coefficient of variation %.4g < %s", threshold, relaxed,
                        options.relaxCap(), initialThreshold, options.stableSteps(), cv, options.maxCv())));
    }

    /** Population std / mean of the window; NaN when the mean is 0. */
    private double coefficientOfVariation() {
        double mean = 0;
        for (double x : stableNorms) {
            mean += x;
        }
        mean /= stableNorms.size();
        double squares = 0;
        for (double x : stableNorms) {
            squares += (x - mean) * (x - mean);
        }
        return mean == 0 ? Double.NaN : Math.sqrt(squares / stableNorms.size()) / mean;
    }

    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("lr_scale", lrScale);
        state.put("initial_threshold", StateMaps.jsonDouble(initialThreshold));
        state.put("threshold", StateMaps.jsonDouble(target.threshold()));
        state.put("near_count", nearCount);
        state.put("stable_norms", new ArrayList<>(stableNorms));
        return state;
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        double scale = StateMaps.getDouble(state, "lr_scale");
        if (!(scale > 0 && scale <= 1)) {
            throw new IllegalArgumentException("state key 'lr_scale' must be in (0, 1], got " + scale);
        }
        double initial = StateMaps.getDouble(state, "initial_threshold");
        double threshold = StateMaps.getDouble(state, "threshold");
        int near = StateMaps.getInt(state, "near_count");
        double[] norms = StateMaps.getDoubles(state, "stable_norms");
        if (norms.length > options.stableSteps()) {
            throw new IllegalArgumentException("state key 'stable_norms' holds " + norms.length
                    + " norms but stableSteps is " + options.stableSteps());
        }
        target.setThreshold(threshold);
        lrScale = scale;
        initialThreshold = initial;
        nearCount = near;
        stableNorms.clear();
        for (double x : norms) {
            stableNorms.addLast(x);
        }
    }
}
