package dev.gradguard.clip;

import java.util.List;
import java.util.Optional;

/**
 * What the gradient pipeline did to one step's gradients.
 *
 * @param preClipNorm the gradients' 2-norm before any transform
 * @param postClipNorm the gradients' 2-norm after the last transform
 * @param clipped true when any transform changed the gradients
 * @param skipReason present when a transform asked to skip the optimizer step
 * @param transforms each transform's own report, in order
 */
public record PipelineReport(double preClipNorm, double postClipNorm, boolean clipped, Optional<String> skipReason,
        List<TransformReport> transforms) {

    public PipelineReport {
        transforms = List.copyOf(transforms);
    }

    /**
     * The overall scale the gradients took, {@code postClipNorm / preClipNorm}; 1 when nothing changed or
     * the gradients are zero, NaN when either norm is not finite.
     */
    public double coefficient() {
        if (!clipped || preClipNorm == 0.0) {
            return 1.0;
        }
        return postClipNorm / preClipNorm;
    }
}
