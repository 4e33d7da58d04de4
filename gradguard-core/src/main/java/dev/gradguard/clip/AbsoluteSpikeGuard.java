package dev.gradguard.clip;

import dev.gradguard.model.Parameters;
import dev.gradguard.state.StateMaps;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Asks to skip the optimizer step when the gradients' 2-norm exceeds a fixed threshold,
 * {@code g > threshold}, as Megatron-LM's {@code grad_norm_skip_threshold} does. The gradients are never
 * changed; the guard honours the request. It judges the norm as it reaches it, so put it first in the
 * chain to judge the pre-clip norm. Stateless.
 *
 * <p>References: Megatron-LM ({@code --grad-norm-skip-threshold}); Chowdhery et al., "PaLM: Scaling
 * Language Modeling with Pathways", JMLR 2023 (skipping spiking batches).
 */
public final class AbsoluteSpikeGuard implements GradientTransform {
    private final double threshold;

    /** @param threshold the largest norm whose step is applied, {@code >= 0} */
    public AbsoluteSpikeGuard(double threshold) {
        if (!(threshold >= 0)) {
            throw new IllegalArgumentException("threshold must be a number >= 0, got " + threshold);
        }
        this.threshold = threshold;
    }

    public double threshold() {
        return threshold;
    }

    /** {@code spike-abs}. */
    @Override
    public String name() {
        return "spike-abs";
    }

    /** {@code threshold}. */
    @Override
    public Map<String, Object> config() {
        return Map.of("threshold", StateMaps.jsonDouble(threshold));
    }

    @Override
    public TransformReport apply(Parameters parameters, GradientContext context) {
        double norm = context.gradNormValue();
        if (norm > threshold) {
            return new TransformReport(name(), norm, norm, 1.0, false, Optional.of(String.format(Locale.ROOT,
                    "grad norm %.6g exceeds the skip threshold %s", norm, threshold)));
        }
        return TransformReport.unchanged(name(), norm);
    }
}
