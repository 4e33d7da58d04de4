package dev.gradguard.metrics.tensorboard;

import java.nio.charset.StandardCharsets;

/**
 * Reads one protobuf message in the wire format, field by field: {@link #nextField()} then the reader
 * that matches the field's wire type, or {@link #skipField()}. The counterpart of {@link ProtoWriter}.
 * Not thread-safe.
 */
final class ProtoReader {
    /** The bytes are not a well-formed message. */
    static final class MalformedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        MalformedException(String message) {
            super(message);
        }
    }

    private final byte[] bytes;
    private int pos;
    private final int limit;
    private int tag;

    ProtoReader(byte[] bytes) {
        this(bytes, 0, bytes.length);
    }

    private ProtoReader(byte[] bytes, int from, int limit) {
        this.bytes = bytes;
        this.pos = from;
        this.limit = limit;
    }

    /** Moves to the next field; false at the end of the message. */
    boolean nextField() {
        if (pos >= limit) {
            return false;
        }
        long t = varint();
        if (t >>> 3 == 0 || t >>> 3 > Integer.MAX_VALUE) {
            throw new MalformedException("field number " + (t >>> 3) + " is out of range");
        }
        tag = (int) t;
        return true;
    }

    int fieldNumber() {
        return tag >>> 3;
    }

    int wireType() {
        return tag & 7;
    }

    double readDouble() {
        expect(ProtoWriter.FIXED64);
        return Double.longBitsToDouble(fixed64());
    }

    float readFloat() {
        expect(ProtoWriter.FIXED32);
        return Float.intBitsToFloat(fixed32());
    }

    long readInt64() {
        expect(ProtoWriter.VARINT);
        return varint();
    }

    String readString() {
        ProtoReader r = readMessage();
        return new String(bytes, r.pos, r.limit - r.pos, StandardCharsets.UTF_8);
    }

    /** An embedded message (or any length-delimited field) as a reader of its own. */
    ProtoReader readMessage() {
        expect(ProtoWriter.LENGTH_DELIMITED);
        long length = varint();
        if (length > limit - pos) {
            throw new MalformedException("a field of " + length + " bytes runs past the end of its message");
        }
        ProtoReader r = new ProtoReader(bytes, pos, pos + (int) length);
        pos += (int) length;
        return r;
    }

    /** A {@code repeated double} field: packed (the proto3 default) or one element per field. */
    double[] readRepeatedDouble() {
        if (wireType() == ProtoWriter.FIXED64) {
            return new double[] {readDouble()};
        }
        ProtoReader r = readMessage();
        if ((r.limit - r.pos) % Double.BYTES != 0) {
            throw new MalformedException("a packed double field holds " + (r.limit - r.pos) + " bytes");
        }
        double[] values = new double[(r.limit - r.pos) / Double.BYTES];
        for (int i = 0; i < values.length; i++) {
            values[i] = Double.longBitsToDouble(r.fixed64());
        }
        return values;
    }

    /** Skips the current field's value. */
    void skipField() {
        switch (wireType()) {
            case ProtoWriter.VARINT -> varint();
            case ProtoWriter.FIXED64 -> advance(Long.BYTES);
            case ProtoWriter.LENGTH_DELIMITED -> readMessage();
            case ProtoWriter.FIXED32 -> advance(Integer.BYTES);
            default -> throw new MalformedException("field " + fieldNumber() + " has wire type " + wireType()
                    + " (groups and unknown types are not supported)");
        }
    }

    private void expect(int wireType) {
        if (wireType() != wireType) {
            throw new MalformedException("field " + fieldNumber() + " has wire type " + wireType() + ", expected "
                    + wireType);
        }
    }

    private long varint() {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= limit) {
                throw new MalformedException("a varint runs past the end of its message");
            }
            byte b = bytes[pos++];
            value |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return value;
            }
        }
        throw new MalformedException("a varint is longer than ten bytes");
    }

    private long fixed64() {
        advance(Long.BYTES);
        long bits = 0;
        for (int i = 0; i < Long.BYTES; i++) {
            bits |= (bytes[pos - Long.BYTES + i] & 0xFFL) << (8 * i);
        }
        return bits;
    }

    private int fixed32() {
        advance(Integer.BYTES);
        int bits = 0;
        for (int i = 0; i < Integer.BYTES; i++) {
            bits |= (bytes[pos - Integer.BYTES + i] & 0xFF) << (8 * i);
        }
        return bits;
    }

    private void advance(int n) {
        if (n > limit - pos) {
            throw new MalformedException("a fixed-size field runs past the end of its message");
        }
        pos += n;
    }
}
