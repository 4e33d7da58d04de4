package dev.gradguard.engine;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Moves data between Java arrays and CPU tensors. Every tensor returned owns its memory (it is a copy),
 * so the Java array may be reused at once.
 */
public final class Tensors {
    private Tensors() {
    }

    /** A float32 tensor of the given shape holding a copy of {@code values}. */
    public static Tensor fromFloats(float[] values, long... shape) {
        checkSize(values.length, shape);
        try (FloatPointer p = new FloatPointer(values)) {
            return torch.from_blob(p, shape).clone();
        }
    }

    /** A float64 tensor of the given shape holding a copy of {@code values}. */
    public static Tensor fromDoubles(double[] values, long... shape) {
        checkSize(values.length, shape);
        try (DoublePointer p = new DoublePointer(values)) {
            return torch.from_blob(p, shape, new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Double)).clone();
        }
    }

    /** An int64 tensor of the given shape holding a copy of {@code values} (class labels, token ids). */
    public static Tensor fromLongs(long[] values, long... shape) {
        checkSize(values.length, shape);
        try (LongPointer p = new LongPointer(values)) {
            return torch.from_blob(p, shape, new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Long)).clone();
        }
    }

    /** The elements of a float32 tensor in row-major order (copied to the CPU and made contiguous). */
    public static float[] toFloats(Tensor t) {
        Tensor c = t.to(torch.ScalarType.Float).contiguous().cpu();
        float[] out = new float[(int) c.numel()];
        if (out.length > 0) {
            new FloatPointer(c.data_ptr_float()).capacity(out.length).get(out);
        }
        return out;
    }

    /** The elements of a tensor converted to float64, in row-major order. */
    public static double[] toDoubles(Tensor t) {
        Tensor c = t.to(torch.ScalarType.Double).contiguous().cpu();
        double[] out = new double[(int) c.numel()];
        if (out.length > 0) {
            new DoublePointer(c.data_ptr_double()).capacity(out.length).get(out);
        }
        return out;
    }

    private static void checkSize(int length, long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != length) {
            throw new IllegalArgumentException("shape holds " + n + " elements but " + length + " values were given");
        }
    }
}
