package dev.gradguard.metrics.tensorboard;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * TensorFlow's TFRecord framing, which event files use: {@code uint64 length, uint32 masked_crc(length),
 * data, uint32 masked_crc(data)}, little-endian, with CRC-32C (Castagnoli) masked as TensorFlow's
 * {@code crc32c::Mask} does (a CRC of data that holds CRCs is weak, so the stored value is rotated and
 * offset).
 */
final class RecordFormat {
    /** The length and its CRC, before the data. */
    static final int HEADER_BYTES = Long.BYTES + Integer.BYTES;
    /** The data's CRC, after the data. */
    static final int FOOTER_BYTES = Integer.BYTES;

    private static final int MASK_DELTA = 0xa282ead8;

    private RecordFormat() {
    }

    /** One whole record around {@code data}. */
    static byte[] frame(byte[] data) {
        ByteBuffer record = ByteBuffer.allocate(HEADER_BYTES + data.length + FOOTER_BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        record.putLong(data.length);
        record.putInt(maskedCrc32c(record.array(), 0, Long.BYTES));
        record.put(data);
        record.putInt(maskedCrc32c(data, 0, data.length));
        return record.array();
    }

    /** The CRC-32C of the bytes, masked: {@code ((crc >>> 15) | (crc << 17)) + 0xa282ead8}. */
    static int maskedCrc32c(byte[] bytes, int offset, int length) {
        return mask(crc32c(bytes, offset, length));
    }

    static int crc32c(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return (int) crc.getValue();
    }

    static int mask(int crc) {
        return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
    }
}
