package dev.gradguard.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.gradguard.engine.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Builds parameters with gradients and compares values with NaN and infinities taken into account. */
final class ClipGradFixtures {
    private ClipGradFixtures() {
    }

    /** A parameter of {@code shape} and {@code dtype}; its gradient holds {@code grad}, or none when null. */
    static Tensor param(double[] grad, long[] shape, torch.ScalarType dtype) {
        Tensor p = torch.zeros(shape).to(dtype);
        if (grad != null) {
            p.mutable_grad().put(Tensors.fromDoubles(grad, shape).to(dtype));
        }
        return p;
    }

    /** Parameters with independent copies of the gradients of {@code params}. */
    static List<Tensor> cloneWithGrads(List<Tensor> params) {
        List<Tensor> copies = new ArrayList<>();
        for (Tensor p : params) {
            Tensor c = p.detach().clone();
            if (p.grad().defined()) {
                c.mutable_grad().put(p.grad().clone());
            }
            copies.add(c);
        }
        return copies;
    }

    /** The gradient's values as doubles, or null when the parameter has none. */
    static double[] gradValues(Tensor param) {
        return param.grad().defined() ? Tensors.toDoubles(param.grad()) : null;
    }

    /**
     * Asserts {@code |actual - expected| <= atol + rtol * |expected|}, with NaN equal only to NaN and an
     * infinity only to the same infinity.
     */
    static void assertClose(double expected, double actual, double rtol, double atol, String what) {
        if (Double.isNaN(expected) || Double.isNaN(actual) || Double.isInfinite(expected)
                || Double.isInfinite(actual)) {
            assertEquals(expected, actual, 0.0, what);
            return;
        }
        if (Math.abs(actual - expected) > atol + rtol * Math.abs(expected)) {
            fail(what + ": expected " + expected + " but was " + actual + " (rtol " + rtol + ", atol " + atol + ")");
        }
    }

    static void assertAllClose(double[] expected, double[] actual, double rtol, double atol, String what) {
        if (expected == null || actual == null) {
            assertEquals(expected == null, actual == null, what + ": gradient presence");
            return;
        }
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            assertClose(expected[i], actual[i], rtol, atol, what + "[" + i + "]");
        }
    }

    /** Relative tolerance for values computed in {@code dtype} by two different orders of operations. */
    static double rtol(torch.ScalarType dtype) {
        return dtype == torch.ScalarType.Double ? 1e-12 : 1e-5;
    }

    /** The number of elements of a tensor of {@code shape}. */
    static int numel(long[] shape) {
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        return n;
    }

    /** Each parameter's gradient values ({@code null} for none), in order. */
    static List<double[]> grads(List<Tensor> params) {
        List<double[]> out = new ArrayList<>();
        for (Tensor p : params) {
            out.add(gradValues(p));
        }
        return out;
    }
}
