package dev.gradguard.clip;

import dev.gradguard.model.Parameters;
import dev.gradguard.state.StateMaps;
import java.util.Map;
import java.util.Optional;

/**
 * Element-wise clipping, {@code torch.nn.utils.clip_grad_value_}: every gradient element is clamped to
 * {@code [-clipValue, clipValue]}, on both sides.
 */
public final class ValueClip implements GradientTransform {
    private final double clipValue;

    /** @param clipValue the bound, finite and {@code >= 0} */
    public ValueClip(double clipValue) {
        ClipGrad.checkClipValue(clipValue);
        this.clipValue = clipValue;
    }

    /** {@code value}. */
    @Override
    public String name() {
        return "value";
    }

    /** {@code clipValue}. */
    @Override
    public Map<String, Object> config() {
        return Map.of("clipValue", StateMaps.jsonDouble(clipValue));
    }

    @Override
    public TransformReport apply(Parameters parameters, GradientContext context) {
        context.ops().clipValue(clipValue);
        double before = context.gradNormValue();
        double after = context.ops().totalNorm(2.0).item_double();
        // Clamping only ever shrinks elements, so the norm drops exactly when some element was clamped.
        boolean clipped = after < before || Double.isNaN(after) != Double.isNaN(before);
        double coefficient = before == 0.0 ? 1.0 : after / before;
        return new TransformReport(name(), before, after, coefficient, clipped, Optional.empty());
    }
}
