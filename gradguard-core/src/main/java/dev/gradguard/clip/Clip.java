package dev.gradguard.clip;

import java.util.List;

/**
 * Typed factories for every gradient policy; each policy's class has constructors for its further settings. Policies
 * compose left to right with {@link #chain}: {@code Clip.chain(Clip.spike(6), Clip.zclip())} first skips spikes,
 * then clips what is left.
 */
public final class Clip {
    private Clip() {
    }

    /** Global p-norm clipping ({@code clip_grad_norm_}), p = 2. */
    public static GradientTransform norm(double maxNorm) {
        return new NormClip(maxNorm, 2.0);
    }

    /** Global p-norm clipping ({@code clip_grad_norm_}); {@code normType} a number or infinity. */
    public static GradientTransform norm(double maxNorm, double normType) {
        return new NormClip(maxNorm, normType);
    }

    /** Every element clamped to {@code [-clipValue, clipValue]} ({@code clip_grad_value_}). */
    public static GradientTransform value(double clipValue) {
        return new ValueClip(clipValue);
    }

    /** Adaptive gradient clipping, unit-wise relative to the weights (Brock et al. 2021), final layer excluded. */
    public static GradientTransform agc(double clipFactor) {
        return new AgcClip(clipFactor);
    }

    /** Clipping at the {@code percentile}-th percentile of every gradient norm seen (Seetharaman et al. 2020). */
    public static GradientTransform autoclip(double percentile) {
        return new AutoClip(percentile);
    }

    /** AutoClip over the last {@code window} norms only. */
    public static GradientTransform autoclip(double percentile, int window) {
        return new AutoClip(percentile, window);
    }

    /** ZClip with all of its paper's defaults (Kumar et al. 2025). */
    public static GradientTransform zclip() {
        return new ZClip();
    }

    /** ZClip with the given options. */
    public static GradientTransform zclip(ZClip.Options options) {
        return new ZClip(options);
    }

    /** Skips a step whose gradient norm is {@code k} standard deviations above its rolling window. */
    public static GradientTransform spike(double k) {
        return new SpikeGuard(SpikeGuard.Signal.GRAD_NORM, k);
    }

    /** Skips a step whose loss is {@code k} standard deviations above its rolling window. */
    public static GradientTransform lossSpike(double k) {
        return new SpikeGuard(SpikeGuard.Signal.LOSS, k);
    }

    /** Skips a step whose gradient norm exceeds {@code threshold}. */
    public static GradientTransform spikeAbs(double threshold) {
        return new AbsoluteSpikeGuard(threshold);
    }

    /** No policy: the gradients pass unchanged. */
    public static GradientPipeline none() {
        return GradientPipeline.of();
    }

    /** The policies applied in order. */
    public static GradientPipeline chain(GradientTransform... transforms) {
        return GradientPipeline.of(List.of(transforms));
    }
}
