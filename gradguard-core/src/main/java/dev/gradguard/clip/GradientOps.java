package dev.gradguard.clip;

import java.util.Objects;
import org.bytedeco.pytorch.Tensor;

/**
 * The operations on a whole set of gradients that clipping needs, all with {@link ClipGrad}'s semantics:
 * over the parameters' gradients one tensor at a time ({@link #of(Iterable)}), or over the flat buffers of
 * a {@link GradBuffer} ({@link #of(GradBuffer)}: one reduction and at most one multiply per buffer).
 * Transforms that act on the whole set use these, so the same transform runs on either.
 */
public interface GradientOps {

    /** The total {@code p}-norm of the gradients, a 0-dim tensor (see {@link ClipGrad#getTotalNorm}). */
    Tensor totalNorm(double normType);

    /** Scales the gradients by {@code min(1, maxNorm / (totalNorm + 1e-6))} (see {@link ClipGrad#clipGradsWithNorm}). */
    void clipWithNorm(double maxNorm, Tensor totalNorm);

    /** Clamps every gradient element to {@code [-clipValue, clipValue]} (see {@link ClipGrad#clipGradValue}). */
    void clipValue(double clipValue);

    /** The operations over the gradients of {@code parameters}, tensor by tensor. */
    static GradientOps of(Iterable<Tensor> parameters) {
        Objects.requireNonNull(parameters, "parameters");
        return new GradientOps() {
            @Override
            public Tensor totalNorm(double normType) {
                return ClipGrad.getTotalNorm(Gradients.of(parameters), normType, false);
            }

            @Override
            public void clipWithNorm(double maxNorm, Tensor totalNorm) {
                ClipGrad.clipGradsWithNorm(parameters, maxNorm, totalNorm);
            }

            @Override
            public void clipValue(double clipValue) {
                ClipGrad.clipGradValue(parameters, clipValue);
            }
        };
    }

    /** The operations over a gradient buffer's flat tensors. */
    static GradientOps of(GradBuffer buffer) {
        Objects.requireNonNull(buffer, "buffer");
        return new GradientOps() {
            @Override
            public Tensor totalNorm(double normType) {
                return buffer.totalNorm(normType);
            }

            @Override
            public void clipWithNorm(double maxNorm, Tensor totalNorm) {
                buffer.clipGradsWithNorm(maxNorm, totalNorm);
            }

            @Override
            public void clipValue(double clipValue) {
                buffer.clipValue(clipValue);
            }
        };
    }
}
