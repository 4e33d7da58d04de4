package dev.gradguard.cli;

import dev.gradguard.metrics.Json;
import dev.gradguard.session.SessionResult;
import java.util.Locale;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * How {@code gradguard shell} shows values: a tensor as PyTorch's REPL prints it (its values, summarized past
 * {@value #EDGE} per dimension at each end when a tensor has more than {@value #THRESHOLD} elements, then its
 * shape and dtype), a session's result as its summary JSON; anything else as it is.
 */
public final class ShellFormat {
    /** Elements beyond which a tensor is summarized (PyTorch's print threshold). */
    static final long THRESHOLD = 1000;
    /** Elements kept at each end of a summarized dimension (PyTorch's edgeitems). */
    static final int EDGE = 3;

    private ShellFormat() {
    }

    /** The value as the shell shows it. */
    public static String show(Object value) {
        if (value instanceof Tensor t) {
            return tensor(t);
        }
        if (value instanceof SessionResult r) {
            try {
                return r.sentence() + "\n" + Json.pretty().writeValueAsString(r.summary());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                return r.sentence();
            }
        }
        return String.valueOf(value);
    }

    static String tensor(Tensor t) {
        if (t == null || t.isNull() || !t.defined()) {
            return "tensor(undefined)";
        }
        Tensor cpu = t.detach().to(torch.ScalarType.Double).cpu().contiguous();
        long[] shape = t.sizes().vec().get();
        boolean summarize = t.numel() > THRESHOLD;
        StringBuilder s = new StringBuilder("tensor(");
        append(s, cpu, shape, 0, 0, summarize, 7);
        s.append(", shape=").append(java.util.Arrays.toString(shape)).append(", dtype=")
                .append(dtype(t.scalar_type().intern()));
        if (t.requires_grad()) {
            s.append(", requires_grad=True");
        }
        return s.append(')').toString();
    }

    private static void append(StringBuilder s, Tensor flat, long[] shape, int dim, long offset, boolean summarize,
            int indent) {
        if (shape.length == 0) {
            s.append(number(flat.view(-1).get(offset).item_double()));
            return;
        }
        long stride = 1;
        for (int d = dim + 1; d < shape.length; d++) {
            stride *= shape[d];
        }
        s.append('[');
        long n = shape[dim];
        for (long i = 0; i < n; i++) {
            if (summarize && n > 2 * EDGE && i == EDGE) {
                s.append(dim == shape.length - 1 ? "..., " : "...,\n" + " ".repeat(indent + dim + 1));
                i = n - EDGE;
            }
            if (dim == shape.length - 1) {
                s.append(number(flat.view(-1).get(offset + i).item_double()));
            } else {
                append(s, flat, shape, dim + 1, offset + i * stride, summarize, indent);
            }
            if (i < n - 1) {
                s.append(dim == shape.length - 1 ? ", " : ",\n" + " ".repeat(indent + dim + 1));
            }
        }
        s.append(']');
    }

    private static String number(double v) {
        if (Double.isNaN(v)) {
            return "nan";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        return v == Math.rint(v) && Math.abs(v) < 1e16 ? String.format(Locale.ROOT, "%.0f.", v)
                : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String dtype(torch.ScalarType type) {
        return switch (type) {
            case Float -> "torch.float32";
            case Double -> "torch.float64";
            case Half -> "torch.float16";
            case BFloat16 -> "torch.bfloat16";
            case Long -> "torch.int64";
            case Int -> "torch.int32";
            case Bool -> "torch.bool";
            default -> "torch." + type.name().toLowerCase(Locale.ROOT);
        };
    }
}
