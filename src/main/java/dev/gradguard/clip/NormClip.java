package dev.gradguard.clip;

import dev.gradguard.model.Parameters;
import java.util.Optional;
import org.bytedeco.pytorch.Tensor;

/**
 * Global-norm clipping, {@code torch.nn.utils.clip_grad_norm_}: when the total p-norm of all gradients
 * exceeds {@code maxNorm}, every gradient is scaled by {@code maxNorm / (norm + 1e-6)}.
 *
 * <p>References: Pascanu, Mikolov and Bengio, "On the difficulty of training recurrent neural networks",
 * ICML 2013.
 */
public final class NormClip implements GradientTransform {
    private final double maxNorm;
    private final double normType;

    /**
     * @param maxNorm the threshold, finite and {@code >= 0}
     * @param normType p of the p-norm, {@code > 0}, or {@code Double.POSITIVE_INFINITY}
     */
    public NormClip(double maxNorm, double normType) {
        ClipGrad.checkMaxNorm(maxNorm);
        ClipGrad.checkNormType(normType);
        this.maxNorm = maxNorm;
        this.normType = normType;
    }

    public double maxNorm() {
        return maxNorm;
    }

    public double normType() {
        return normType;
    }

    @Override
    public String spec() {
        String max = ClipPolicies.format(maxNorm);
        return normType == 2.0 ? "norm:" + max : "norm:" + max + ":" + ClipPolicies.format(normType);
    }

    @Override
    public TransformReport apply(Parameters parameters, GradientContext context) {
        Tensor norm = normType == 2.0
                ? context.gradNorm()
                : ClipGrad.getTotalNorm(Gradients.of(parameters), normType, false);
        double pNorm = norm.item_double();
        double coefficient = Math.min(1.0, maxNorm / (pNorm + 1e-6));
        boolean scales = !(coefficient >= 1.0);
        // Multiplying by exactly 1 changes nothing, so on the CPU (where reading the norm is free) the
        // multiply is skipped; off the CPU PyTorch's always-multiply keeps the device from syncing.
        if (scales || !norm.device().is_cpu()) {
            ClipGrad.clipGradsWithNorm(parameters, maxNorm, norm);
        }
        double before = context.gradNormValue();
        return new TransformReport(spec(), before, before * coefficient, coefficient, scales, Optional.empty());
    }
}
