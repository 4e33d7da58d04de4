package dev.gradguard.interop;

import java.util.Arrays;
import java.util.stream.Collectors;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The element types of the safetensors format that libtorch holds, by the format's names ({@code F32},
 * {@code BF16}, ...), with their sizes in bytes.
 */
enum Dtype {
    BOOL(1, ScalarType.Bool),
    U8(1, ScalarType.Byte),
    I8(1, ScalarType.Char),
    F8_E5M2(1, ScalarType.Float8_e5m2),
    F8_E4M3(1, ScalarType.Float8_e4m3fn),
    I16(2, ScalarType.Short),
    U16(2, ScalarType.UInt16),
    F16(2, ScalarType.Half),
    BF16(2, ScalarType.BFloat16),
    I32(4, ScalarType.Int),
    U32(4, ScalarType.UInt32),
    F32(4, ScalarType.Float),
    I64(8, ScalarType.Long),
    U64(8, ScalarType.UInt64),
    F64(8, ScalarType.Double);

    static final String ALLOWED = Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));

    final int size;
    final ScalarType scalarType;

    Dtype(int size, ScalarType scalarType) {
        this.size = size;
        this.scalarType = scalarType;
    }

    /** The dtype named {@code name} in a header, or null when the format (or libtorch) has none by that name. */
    static Dtype named(String name) {
        for (Dtype d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }

    /**
     * The dtype of a libtorch scalar type.
     *
     * @throws IllegalArgumentException for a type the format cannot hold (complex, quantized)
     */
    static Dtype of(ScalarType type) {
        for (Dtype d : values()) {
            // by value: the bindings may hand back a ScalarType that is not the enum constant itself
            if (d.scalarType.value == type.value) {
                return d;
            }
        }
        throw new IllegalArgumentException("safetensors has no dtype for libtorch's " + type + " (it holds " + ALLOWED + ")");
    }
}
