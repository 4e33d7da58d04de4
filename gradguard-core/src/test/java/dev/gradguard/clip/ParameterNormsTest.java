package dev.gradguard.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ParameterNormsTest {

    @BeforeAll
    static void load() {
        Torch.load();
    }

    private static Tensor withGrad(Tensor grad) {
        Tensor p = torch.zeros_like(grad);
        p.mutable_grad().put(grad.clone());
        return p;
    }

    private static double twoNorm(double[] values) {
        double sum = 0;
        for (double v : values) {
            sum += v * v;
        }
        return Math.sqrt(sum);
    }

    @Test
    void eachDefinedGradientGetsItsTwoNormInParameterOrder() {
        double[] w = {3, -4, 12, 0, 1.5, -2.25};
        double[] b = {1e-3, -2e-3};
        Parameters ps = Parameters.of(List.of("w", "frozen", "b", "d"),
                List.of(withGrad(Tensors.fromFloats(toFloats(w), 2, 3)), torch.ones(new long[] {4}),
                        withGrad(Tensors.fromFloats(toFloats(b), 2)), withGrad(Tensors.fromDoubles(new double[] {6, 8}, 2))));
        Map<String, Double> norms = ParameterNorms.norms(ps);
        assertEquals(List.of("w", "b", "d"), List.copyOf(norms.keySet()));
        assertEquals(twoNorm(w), norms.get("w"), 1e-5);
        assertEquals(twoNorm(b), norms.get("b"), 1e-9);
        assertEquals(10.0, norms.get("d"));
        assertEquals(List.of(), List.copyOf(ParameterNorms.norms(Parameters.of(List.of("x"),
                List.of(torch.ones(new long[] {2})))).keySet()));
    }

    @Test
    void gradientsAreLeftUnchanged() {
        Tensor p = withGrad(Tensors.fromFloats(new float[] {1, 2, 3}, 3));
        ParameterNorms.norms(Parameters.of(List.of("p"), List.of(p)));
        assertEquals(List.of(1.0, 2.0, 3.0), Arrays.stream(Tensors.toDoubles(p.grad())).boxed().toList());
    }

    private static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }
}
