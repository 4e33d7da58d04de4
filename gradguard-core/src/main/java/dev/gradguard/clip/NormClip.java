package dev.gradguard.clip;

import dev.gradguard.model.Parameters;
import dev.gradguard.state.StateMaps;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.pytorch.Tensor;

/**
 * Global-norm clipping, {@code torch.nn.utils.clip_grad_norm_}: when the total p-norm of all gradients
 * exceeds {@code maxNorm}, every gradient is scaled by {@code maxNorm / (norm + 1e-6)}.
 *
 * <p>References: Pascanu, Mikolov and Bengio, "On the difficulty of training recurrent neural networks",
 * ICML 2013.
 */
public final class NormClip implements GradientTransform, ThresholdClip {
    private final double configuredMaxNorm;
    private final double normType;
    private double maxNorm;

    /**
     * @param maxNorm the threshold, finite and {@code >= 0}
     * @param normType p of the p-norm, {@code > 0}, or {@code Double.POSITIVE_INFINITY}
     */
    public NormClip(double maxNorm, double normType) {
        ClipGrad.checkMaxNorm(maxNorm);
        ClipGrad.checkNormType(normType);
        this.configuredMaxNorm = maxNorm;
        this.maxNorm = maxNorm;
        this.normType = normType;
    }

    /** The threshold in force now (a controller may have changed it). */
    @Override
    public double threshold() {
        return maxNorm;
    }

    /**
     * Replaces the threshold from the next step on. The threshold is on the {@code p}-norm this clipper
     * measures (the 2-norm by default).
     *
     * @throws IllegalArgumentException if {@code threshold} is negative or NaN
     */
    @Override
    public void setThreshold(double threshold) {
        ClipGrad.checkMaxNorm(threshold);
        this.maxNorm = threshold;
    }

    public double normType() {
        return normType;
    }

    /** {@code norm}. */
    @Override
    public String name() {
        return "norm";
    }

    /** {@code maxNorm} as configured (the current threshold is in the state) and {@code normType}. */
    @Override
    public Map<String, Object> config() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("maxNorm", StateMaps.jsonDouble(configuredMaxNorm));
        config.put("normType", StateMaps.jsonDouble(normType));
        return config;
    }

    @Override
    public TransformReport apply(Parameters parameters, GradientContext context) {
        Tensor norm = normType == 2.0
                ? context.gradNorm()
                : context.ops().totalNorm(normType);
        double pNorm = normType == 2.0 ? context.gradNormValue() : norm.item_double();
        double coefficient = Math.min(1.0, maxNorm / (pNorm + 1e-6));
        boolean scales = !(coefficient >= 1.0);
        // Multiplying by exactly 1 changes nothing, so on the CPU (where reading the norm is free) the
        // multiply is skipped; off the CPU PyTorch's always-multiply keeps the device from syncing.
        if (scales || !norm.device().is_cpu()) {
            context.ops().clipWithNorm(maxNorm, norm);
        }
        double before = context.gradNormValue();
        return new TransformReport(name(), before, before * coefficient, coefficient, scales, Optional.empty());
    }

    @Override
    public Map<String, Object> stateDict() {
        return Map.of("threshold", StateMaps.jsonDouble(maxNorm));
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        setThreshold(StateMaps.getDouble(state, "threshold"));
    }
}
