package dev.gradguard.clip;

import java.util.Optional;

/**
 * What one transform did to one step's gradients.
 *
 * @param transform the transform's {@link GradientTransform#name() name}
 * @param normBefore the gradients' 2-norm before it
 * @param normAfter the gradients' 2-norm after it
 * @param coefficient the factor the gradients were scaled by (1 when unchanged; for element-wise
 *     transforms, {@code normAfter / normBefore})
 * @param clipped true when the gradients were changed
 * @param skipReason present when the transform asks the guard to skip the optimizer step, saying why
 */
public record TransformReport(String transform, double normBefore, double normAfter, double coefficient,
        boolean clipped, Optional<String> skipReason) {

    /** A report of a transform that left the gradients as they were. */
    public static TransformReport unchanged(String transform, double norm) {
        return new TransformReport(transform, norm, norm, 1.0, false, Optional.empty());
    }
}
