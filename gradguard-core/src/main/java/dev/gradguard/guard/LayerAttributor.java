package dev.gradguard.guard;

import dev.gradguard.clip.ParameterNorms;
import dev.gradguard.clip.PipelineReport;
import dev.gradguard.model.Parameters;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Finds which layers a step's trouble came from, so nobody has to guess where a spike started. A step is
 * examined when its gradients or loss were not finite, when it was skipped, or when clipping scaled the
 * gradients by less than {@code hardClipCoefficient}; then each parameter's gradient norm is read (one
 * norm per parameter, on those steps only, so calm steps cost nothing).
 *
 * <p>The gradients are read after the pipeline. Non-finite and skipped steps reach here untouched (the
 * pipeline runs no transform on non-finite gradients and stops at a skip request). On clipped steps each
 * norm is divided by the overall clip coefficient, which gives the pre-clip norm exactly for norm-based
 * clipping (every gradient scaled alike) and an estimate for element-wise clipping ({@code value},
 * {@code agc}). For a parameter whose gradient holds NaN or an infinity it also reads the norm of the finite
 * elements and counts the others, so that the trouble can be plotted.
 */
public final class LayerAttributor {
    /** Clip coefficients below this count as hard clipping. */
    public static final double DEFAULT_HARD_CLIP = 0.1;
    /** How many of the largest layers are reported. */
    public static final int DEFAULT_TOP = 5;

    private final double hardClipCoefficient;
    private final int top;

    /**
     * @param hardClipCoefficient coefficients below it trigger an attribution; 0 turns that trigger off
     * @param top how many of the largest layers to report, at least 1
     */
    public LayerAttributor(double hardClipCoefficient, int top) {
        if (!(hardClipCoefficient >= 0 && hardClipCoefficient <= 1)) {
            throw new IllegalArgumentException("hard-clip coefficient must be in [0, 1], got " + hardClipCoefficient);
        }
        if (top < 1) {
            throw new IllegalArgumentException("top layers must be at least 1, got " + top);
        }
        this.hardClipCoefficient = hardClipCoefficient;
        this.top = top;
    }

    /** The defaults: coefficient below 0.1, top 5 layers. */
    public static LayerAttributor defaults() {
        return new LayerAttributor(DEFAULT_HARD_CLIP, DEFAULT_TOP);
    }

    /** The attribution of this step, or empty when the step was calm. */
    public Optional<LayerAttribution> attribute(Parameters parameters, PipelineReport clip, GuardDecision decision) {
        String trigger = trigger(clip, decision);
        if (trigger == null) {
            return Optional.empty();
        }
        double coefficient = clip.coefficient();
        boolean rescale = clip.clipped() && Double.isFinite(coefficient) && coefficient > 0 && coefficient != 1.0;
        List<LayerAttribution.LayerNorm> finite = new ArrayList<>();
        List<LayerAttribution.NonFiniteLayer> nonFinite = new ArrayList<>();
        for (Map.Entry<String, Double> e : ParameterNorms.norms(parameters).entrySet()) {
            double norm = e.getValue();
            if (Double.isFinite(norm)) {
                finite.add(new LayerAttribution.LayerNorm(e.getKey(), rescale ? norm / coefficient : norm));
            } else {
                nonFinite.add(nonFiniteLayer(e.getKey(), parameters.get(parameters.names().indexOf(e.getKey())).grad()));
            }
        }
        finite.sort(Comparator.comparingDouble(LayerAttribution.LayerNorm::norm).reversed());
        return Optional.of(new LayerAttribution(trigger, finite.subList(0, Math.min(top, finite.size())), nonFinite));
    }

    /** The finite part of a non-finite gradient and the count of the rest, in float64 so that the norm cannot overflow. */
    private static LayerAttribution.NonFiniteLayer nonFiniteLayer(String name, Tensor gradient) {
        Tensor g = gradient.detach().to(torch.ScalarType.Double);
        Tensor finite = torch.isfinite(g);
        long bad = g.numel() - finite.sum().item_long();
        double finiteNorm = torch.where(finite, g, torch.zeros_like(g)).norm().item_double();
        return new LayerAttribution.NonFiniteLayer(name, finiteNorm, bad);
    }

    private String trigger(PipelineReport clip, GuardDecision decision) {
        if (decision.skip().isPresent()) {
            Skip skip = decision.skip().get();
            return skip.reason().nonFinite() ? skip.detail() : "skipped: " + skip.detail();
        }
        double coefficient = clip.coefficient();
        if (clip.clipped() && coefficient < hardClipCoefficient) {
            return String.format(Locale.ROOT, "clipped hard (coefficient %.3g)", coefficient);
        }
        return null;
    }
}
