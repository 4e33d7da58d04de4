package dev.gradguard.metrics.tensorboard;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Builds one protobuf message in the wire format (https://protobuf.dev/programming-guides/encoding/):
 * a varint tag {@code field << 3 | wireType}, then the value. Enough of the format for TensorBoard's
 * few messages, so the project needs neither {@code protoc} nor {@code protobuf-java}.
 *
 * <p>Scalar fields equal to their default (0, empty) are left out, as proto3 serializers do; a field
 * that belongs to a {@code oneof} has presence and is always written ({@link #floatInOneof}).
 * Not thread-safe.
 */
final class ProtoWriter {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** A {@code double} field; skipped when its bits are zero (+0.0), the proto3 default. */
    ProtoWriter doubleField(int field, double value) {
        if (Double.doubleToRawLongBits(value) != 0) {
            tag(field, FIXED64);
            fixed64(Double.doubleToRawLongBits(value));
        }
        return this;
    }

    /** A {@code float} member of a {@code oneof}: written even when 0. */
    ProtoWriter floatInOneof(int field, float value) {
        tag(field, FIXED32);
        fixed32(Float.floatToRawIntBits(value));
        return this;
    }

    /** An {@code int64} field; skipped when 0. Negative values take ten bytes, as in protobuf. */
    ProtoWriter int64Field(int field, long value) {
        if (value != 0) {
            tag(field, VARINT);
            varint(value);
        }
        return this;
    }

    /** A {@code string} field in UTF-8; skipped when empty. */
    ProtoWriter stringField(int field, String value) {
        return bytesField(field, value.getBytes(StandardCharsets.UTF_8));
    }

    /** A {@code bytes} field; skipped when empty. */
    ProtoWriter bytesField(int field, byte[] value) {
        if (value.length > 0) {
            lengthDelimited(field, value);
        }
        return this;
    }

    /** An embedded message; always written, since a set message field has presence even when empty. */
    ProtoWriter messageField(int field, ProtoWriter message) {
        lengthDelimited(field, message.toByteArray());
        return this;
    }

    /** A {@code double} member of a {@code oneof}: written even when 0. */
    ProtoWriter doubleInOneof(int field, double value) {
        tag(field, FIXED64);
        fixed64(Double.doubleToRawLongBits(value));
        return this;
    }

    /** A {@code string} member of a {@code oneof}: written even when empty. */
    ProtoWriter stringInOneof(int field, String value) {
        lengthDelimited(field, value.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /** A {@code bool} member of a {@code oneof}: written even when false. */
    ProtoWriter boolInOneof(int field, boolean value) {
        tag(field, VARINT);
        varint(value ? 1 : 0);
        return this;
    }

    /** An {@code int32} or enum field; skipped when 0. */
    ProtoWriter int32Field(int field, int value) {
        return int64Field(field, value);
    }

    /** A packed {@code repeated double} field (proto3's default encoding); skipped when empty. */
    ProtoWriter packedDoubles(int field, double[] values) {
        if (values.length > 0) {
            tag(field, LENGTH_DELIMITED);
            varint((long) values.length * Double.BYTES);
            for (double v : values) {
                fixed64(Double.doubleToRawLongBits(v));
            }
        }
        return this;
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }

    private void lengthDelimited(int field, byte[] value) {
        tag(field, LENGTH_DELIMITED);
        varint(value.length);
        out.writeBytes(value);
    }

    private void tag(int field, int wireType) {
        varint(((long) field << 3) | wireType);
    }

    private void varint(long value) {
        long v = value;
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    private void fixed64(long bits) {
        for (int i = 0; i < Long.BYTES; i++) {
            out.write((int) (bits >>> (8 * i)));
        }
    }

    private void fixed32(int bits) {
        for (int i = 0; i < Integer.BYTES; i++) {
            out.write(bits >>> (8 * i));
        }
    }
}
