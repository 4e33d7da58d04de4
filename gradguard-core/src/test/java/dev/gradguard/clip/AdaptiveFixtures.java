package dev.gradguard.clip;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.gradguard.engine.Tensors;
import dev.gradguard.metrics.Json;
import dev.gradguard.model.Parameters;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** One-parameter models with a gradient of a chosen norm, and state round trips through JSON. */
final class AdaptiveFixtures {
    private AdaptiveFixtures() {
    }

    /** One float64 parameter {@code w} whose gradient is {@code [value]}, so its 2-norm is {@code |value|}. */
    static Parameters gradientOf(double value) {
        Tensor p = torch.zeros(new long[] {1}).to(torch.ScalarType.Double);
        p.mutable_grad().put(Tensors.fromDoubles(new double[] {value}, 1));
        return Parameters.of(List.of("w"), List.of(p));
    }

    /**
     * Runs {@code transform} by itself (not through a pipeline, which keeps non-finite norms away from
     * transforms) on a gradient of norm {@code norm} and returns its report.
     */
    static TransformReport applyToNorm(GradientTransform transform, long step, double norm, double loss) {
        Parameters ps = gradientOf(norm);
        return transform.apply(ps, contextFor(ps, step, loss));
    }

    /** The context a pipeline would give a first transform on {@code ps}, with list-based operations. */
    static GradientContext contextFor(Parameters ps, long step, double loss) {
        GradientOps ops = GradientOps.of(ps);
        return new GradientContext(step, loss, ops.totalNorm(2.0), ops);
    }

    static TransformReport applyToNorm(GradientTransform transform, long step, double norm) {
        return applyToNorm(transform, step, norm, 1.0);
    }

    /** The single gradient value of {@link #gradientOf} parameters after a transform ran. */
    static double gradValue(Parameters ps) {
        return Tensors.toDoubles(ps.get(0).grad())[0];
    }

    /** {@code state} written as one JSON line and read back, as a checkpoint does. */
    static Map<String, Object> throughJson(Map<String, Object> state) {
        try {
            String text = Json.compact().writeValueAsString(state);
            return Json.compact().readValue(text, new TypeReference<Map<String, Object>>() { });
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
