package dev.gradguard.clip;

import dev.gradguard.engine.Tensors;
import dev.gradguard.model.Parameters;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.LongArrayRefOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Reads each parameter's gradient 2-norm. Gradients are only meaningful during a step, after the backward
 * pass and before the next zeroing, so the trainer calls this at that point.
 */
public final class ParameterNorms {
    private ParameterNorms() {
    }

    /**
     * The 2-norm of each defined gradient, keyed by parameter name in parameter order; parameters without
     * a gradient are left out. One {@code linalg_vector_norm} per gradient, accumulated in float32 for half
     * and bfloat16 gradients and in the gradient's own dtype otherwise; the norms are then stacked and
     * copied to the host at once (one device sync). Native temporaries are freed in this method's own
     * {@link PointerScope}; the gradients are not changed.
     */
    @SuppressWarnings("try") // the guard acts by being open
    public static Map<String, Double> norms(Parameters parameters) {
        List<String> names = new ArrayList<>();
        double[] values;
        try (PointerScope temporaries = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            List<Tensor> norms = new ArrayList<>();
            for (int i = 0; i < parameters.size(); i++) {
                Tensor grad = parameters.get(i).grad();
                if (grad.defined()) {
                    norms.add(torch.linalg_vector_norm(grad, new Scalar(2.0), new LongArrayRefOptional(), false,
                            ClipGrad.accumulationType(grad)));
                    names.add(parameters.name(i));
                }
            }
            values = norms.isEmpty() ? new double[0] : Tensors.toDoubles(stackOnOneDevice(norms));
        }
        Map<String, Double> byName = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            byName.put(names.get(i), values[i]);
        }
        return Collections.unmodifiableMap(byName);
    }

    /** The norms as one float64 vector on the first norm's device (parameters may live on several). */
    private static Tensor stackOnOneDevice(List<Tensor> norms) {
        Device device = norms.get(0).device();
        TensorVector stacked = new TensorVector();
        for (Tensor norm : norms) {
            stacked.push_back(norm.to(device, torch.ScalarType.Double));
        }
        return torch.stack(stacked);
    }
}
