package dev.gradguard.clip;

import dev.gradguard.model.Parameters;
import dev.gradguard.state.StateMaps;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * ZClip, z-score clipping of gradient-norm spikes against an EMA of the norm, with the semantics of the
 * authors' {@code zclip.py} in its {@code zscore} mode (the only mode implemented here).
 *
 * <p>The norm it tracks is {@code g}, the 2-norm of the gradients as they reach it (the pipeline's pre-clip
 * norm when ZClip comes first in the chain). For the first {@code warmupSteps} steps it records {@code g}
 * and clips with the fixed {@code maxGradNorm} as {@code clip_grad_norm_} does; then {@code mean} and
 * {@code var} become the mean and the population variance (divided by N) of the recorded norms. After
 * that, with {@code std = sqrt(var)} and {@code z = (g - mean) / (std + eps)}, a step is a spike when
 * {@code z > zThresh}; its threshold is {@code (mean + zThresh * std / (z / zThresh)) * clipFactor}
 * ({@code adaptive_scaling}) or {@code mean} ({@code mean}); a step that is no spike has threshold
 * {@code g}. The gradients are scaled by {@code eff / (g + 1e-6)} only when {@code g > eff}, where
 * {@code eff = min(threshold, maxGradNorm)}. Then the EMA takes {@code x}, the threshold on a spike (NOT
 * capped by {@code maxGradNorm}) and {@code g} otherwise: {@code mean <- alpha * mean + (1 - alpha) * x},
 * {@code var <- alpha * var + (1 - alpha) * (x - mean)^2} with the new mean.
 *
 * <p>Example ({@code zThresh = 2}): mean 1, var 0.25, {@code g = 3} give {@code z = 3.999992} and the
 * threshold 1.500001; afterwards mean = 1.01500003 and var = 0.2495568.
 *
 * <p>A non-finite {@code g} leaves the gradients and the statistics unchanged (the guard skips the step).
 * {@code maxGradNorm} is the {@link ThresholdClip} threshold a controller may change; {@link #config()} keeps
 * the configured value and the state carries the current one. State: the warm-up norms, whether the EMA
 * is initialized, mean, var, and the current {@code maxGradNorm}.
 *
 * <p>References: Kumar, Owen, Chowdhury and Güra, "ZClip: Adaptive Spike Mitigation for LLM
 * Pre-Training", arXiv:2504.02507, 2025.
 */
public final class ZClip implements GradientTransform, ThresholdClip {

    /** What a spike is clipped to. */
    public enum ClipOption {
        /** {@code mean + zThresh * std / (z / zThresh)}, times {@code clipFactor}. */
        ADAPTIVE_SCALING,
        /** The EMA mean. */
        MEAN;

        /** The value of {@code clip_option} in the authors' {@code zclip.py}: {@code adaptive_scaling} or {@code mean}. */
        public String authorsName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * ZClip's settings, with the authors' names and defaults.
     *
     * @param alpha the EMA's smoothing factor, in {@code [0, 1)}; default 0.97
     * @param zThresh the z-score above which a norm is a spike, finite and {@code > 0}; default 2.5
     * @param maxGradNorm the hard cap, and the fixed threshold during warm-up, {@code >= 0}
     *     ({@code Double.POSITIVE_INFINITY} for none); default 1.0
     * @param eps added to {@code std} in the z-score, finite and {@code >= 0}; default 1e-6
     * @param warmupSteps the norms recorded before the EMA starts, {@code >= 1}; default 25
     * @param clipOption what a spike is clipped to; default {@code ADAPTIVE_SCALING}
     * @param clipFactor the multiplier of the adaptive threshold, finite and {@code > 0}; default 1.0
     */
    public record Options(double alpha, double zThresh, double maxGradNorm, double eps, int warmupSteps,
            ClipOption clipOption, double clipFactor) {

        /** @throws IllegalArgumentException naming the first bad field */
        public Options {
            if (!(alpha >= 0 && alpha < 1)) {
                throw new IllegalArgumentException("alpha must be in [0, 1), got " + alpha);
            }
            if (!(zThresh > 0 && Double.isFinite(zThresh))) {
                throw new IllegalArgumentException("zThresh must be a finite number > 0, got " + zThresh);
            }
            if (!(maxGradNorm >= 0)) {
                throw new IllegalArgumentException("maxGradNorm must be a number >= 0 or infinity, got " + maxGradNorm);
            }
            if (!(eps >= 0 && Double.isFinite(eps))) {
                throw new IllegalArgumentException("eps must be a finite number >= 0, got " + eps);
            }
            if (warmupSteps < 1) {
                throw new IllegalArgumentException("warmupSteps must be >= 1, got " + warmupSteps);
            }
            Objects.requireNonNull(clipOption, "clipOption");
            if (!(clipFactor > 0 && Double.isFinite(clipFactor))) {
                throw new IllegalArgumentException("clipFactor must be a finite number > 0, got " + clipFactor);
            }
        }

        /** The authors' defaults. */
        public static Options defaults() {
            return new Options(0.97, 2.5, 1.0, 1e-6, 25, ClipOption.ADAPTIVE_SCALING, 1.0);
        }

        public Options withZThresh(double z) {
            return new Options(alpha, z, maxGradNorm, eps, warmupSteps, clipOption, clipFactor);
        }

        public Options withAlpha(double a) {
            return new Options(a, zThresh, maxGradNorm, eps, warmupSteps, clipOption, clipFactor);
        }

        public Options withMaxGradNorm(double max) {
            return new Options(alpha, zThresh, max, eps, warmupSteps, clipOption, clipFactor);
        }

        public Options withEps(double e) {
            return new Options(alpha, zThresh, maxGradNorm, e, warmupSteps, clipOption, clipFactor);
        }

        public Options withWarmupSteps(int steps) {
            return new Options(alpha, zThresh, maxGradNorm, eps, steps, clipOption, clipFactor);
        }

        public Options withClipOption(ClipOption option) {
            return new Options(alpha, zThresh, maxGradNorm, eps, warmupSteps, option, clipFactor);
        }

        public Options withClipFactor(double factor) {
            return new Options(alpha, zThresh, maxGradNorm, eps, warmupSteps, clipOption, factor);
        }
    }

    private final Options options;
    private double maxGradNorm;
    private final List<Double> warmupNorms = new ArrayList<>();
    private boolean initialized;
    private double mean = Double.NaN;
    private double var = Double.NaN;

    /** ZClip with the authors' defaults. */
    public ZClip() {
        this(Options.defaults());
    }

    public ZClip(Options options) {
        this.options = Objects.requireNonNull(options, "options");
        this.maxGradNorm = options.maxGradNorm();
    }

    public Options options() {
        return options;
    }

    /** Whether the warm-up is over and the EMA runs. */
    public boolean initialized() {
        return initialized;
    }

    /** The EMA of the norm; NaN during warm-up. */
    public double mean() {
        return mean;
    }

    /** The EMA of the norm's variance; NaN during warm-up. */
    public double variance() {
        return var;
    }

    /** The current {@code maxGradNorm}. */
    @Override
    public double threshold() {
        return maxGradNorm;
    }

    @Override
    public void setThreshold(double threshold) {
        if (!(threshold >= 0)) {
            throw new IllegalArgumentException("threshold must be >= 0, got " + threshold);
        }
        maxGradNorm = threshold;
    }

    /** {@code zclip}. */
    @Override
    public String name() {
        return "zclip";
    }

    /**
     * The {@link Options} by their names, {@code clipOption} as its {@link ClipOption#authorsName()}; the configured
     * {@code maxGradNorm}, not the current one.
     */
    @Override
    public Map<String, Object> config() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("alpha", options.alpha());
        config.put("zThresh", options.zThresh());
        config.put("maxGradNorm", StateMaps.jsonDouble(options.maxGradNorm()));
        config.put("eps", options.eps());
        config.put("warmupSteps", options.warmupSteps());
        config.put("clipOption", options.clipOption().authorsName());
        config.put("clipFactor", options.clipFactor());
        return config;
    }

    @Override
    public TransformReport apply(Parameters parameters, GradientContext context) {
        double g = context.gradNormValue();
        if (!Double.isFinite(g)) {
            return TransformReport.unchanged(name(), g);
        }
        if (!initialized) {
            warmupNorms.add(g);
            if (warmupNorms.size() >= options.warmupSteps()) {
                initializeEma();
            }
            // clip_grad_norm_(max_grad_norm): its coefficient, applied when it is below 1
            double coefficient = Math.min(1.0, maxGradNorm / (g + 1e-6));
            return coefficient < 1.0 ? scale(parameters, context, maxGradNorm, coefficient)
                    : TransformReport.unchanged(name(), g);
        }
        double std = Math.sqrt(var);
        double z = (g - mean) / (std + options.eps());
        double x = z > options.zThresh() ? spikeThreshold(z, std) : g;
        double effective = Math.min(x, maxGradNorm);
        mean = options.alpha() * mean + (1 - options.alpha()) * x;
        var = options.alpha() * var + (1 - options.alpha()) * ((x - mean) * (x - mean));
        return g > effective ? scale(parameters, context, effective, effective / (g + 1e-6))
                : TransformReport.unchanged(name(), g);
    }

    private double spikeThreshold(double z, double std) {
        if (options.clipOption() == ClipOption.MEAN) {
            return mean;
        }
        double eta = z / options.zThresh();
        return (mean + options.zThresh() * std / eta) * options.clipFactor();
    }

    private void initializeEma() {
        double sum = 0;
        for (double n : warmupNorms) {
            sum += n;
        }
        mean = sum / warmupNorms.size();
        double squares = 0;
        for (double n : warmupNorms) {
            squares += (n - mean) * (n - mean);
        }
        var = squares / warmupNorms.size();
        warmupNorms.clear();
        initialized = true;
    }

    private TransformReport scale(Parameters parameters, GradientContext context, double threshold,
            double coefficient) {
        context.ops().clipWithNorm(threshold, context.gradNorm());
        double g = context.gradNormValue();
        return new TransformReport(name(), g, g * coefficient, coefficient, true, Optional.empty());
    }

    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("warmup_norms", new ArrayList<>(warmupNorms));
        state.put("initialized", initialized);
        state.put("mean", StateMaps.jsonDouble(mean));
        state.put("var", StateMaps.jsonDouble(var));
        state.put("max_grad_norm", StateMaps.jsonDouble(maxGradNorm));
        return state;
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        double[] norms = StateMaps.getDoubles(state, "warmup_norms");
        boolean init = StateMaps.getBoolean(state, "initialized");
        double m = StateMaps.getDouble(state, "mean");
        double v = StateMaps.getDouble(state, "var");
        double max = StateMaps.getDouble(state, "max_grad_norm");
        if (init && !(Double.isFinite(m) && v >= 0 && Double.isFinite(v))) {
            throw new IllegalArgumentException("an initialized ZClip state needs a finite mean and var >= 0, got mean "
                    + m + ", var " + v);
        }
        setThreshold(max);
        warmupNorms.clear();
        for (double n : norms) {
            warmupNorms.add(n);
        }
        initialized = init;
        mean = m;
        var = v;
    }
}
