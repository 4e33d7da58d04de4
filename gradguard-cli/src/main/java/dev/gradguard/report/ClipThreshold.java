package dev.gradguard.report;

import dev.gradguard.cli.spec.ClipSpecs;
import dev.gradguard.clip.GradientTransform;
import dev.gradguard.clip.NormClip;
import java.util.OptionalDouble;

/** The fixed 2-norm clipping threshold of a {@code --clip} spec, to draw beside the gradient norms. */
public final class ClipThreshold {
    private ClipThreshold() {
    }

    /**
     * The threshold that bounds the post-clip 2-norm: the smallest {@code MAX} of the chain's
     * {@code norm:MAX} (and {@code norm:MAX:2}) parts. Empty when the spec has none (no clipping, value
     * clipping, adaptive policies alone, or a p-norm other than 2, which is not comparable with the
     * 2-norms the metrics hold) or does not parse. Every transform in a chain only shrinks gradients, so
     * the smallest such threshold bounds the chain's output.
     */
    public static OptionalDouble of(String clipSpec) {
        OptionalDouble threshold = OptionalDouble.empty();
        try {
            for (GradientTransform t : ClipSpecs.parse(clipSpec).transforms()) {
                if (t instanceof NormClip norm && norm.normType() == 2.0
                        && (threshold.isEmpty() || norm.threshold() < threshold.getAsDouble())) {
                    threshold = OptionalDouble.of(norm.threshold());
                }
            }
        } catch (IllegalArgumentException e) {
            return OptionalDouble.empty();
        }
        return threshold;
    }
}
