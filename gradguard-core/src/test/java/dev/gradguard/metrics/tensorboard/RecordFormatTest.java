package dev.gradguard.metrics.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class RecordFormatTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void crc32cMatchesTheCheckValueAndRfc3720Vectors() {
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xE3069283, RecordFormat.crc32c(check, 0, check.length));
        // RFC 3720, appendix B.4: 32 bytes of zeros, 32 bytes of ones
        assertEquals(0x8A9136AA, RecordFormat.crc32c(new byte[32], 0, 32));
        byte[] ones = new byte[32];
        Arrays.fill(ones, (byte) 0xFF);
        assertEquals(0x62A8AB43, RecordFormat.crc32c(ones, 0, 32));
    }

    @Test
    void maskRotatesRightBy15AndAddsTheDelta() {
        // (0xE3069283 >>> 15 | 0xE3069283 << 17) = 0x2507C60D; + 0xA282EAD8 = 0xC78AB0E5 (mod 2^32)
        assertEquals(0xC78AB0E5, RecordFormat.mask(0xE3069283));
        assertEquals(0xA282EAD8, RecordFormat.mask(0));
        // the length CRC of the reference's first vector: length 24 as 8 little-endian bytes
        byte[] length = HEX.parseHex("1800000000000000");
        assertEquals(0x224B7FA3, RecordFormat.maskedCrc32c(length, 0, length.length));
    }

    @Test
    void headerRecordMatchesTheReferenceVectorByteForByte() {
        assertEquals("1800000000000000a37f4b2209000000000000f03f1a0d627261696e2e4576656e743a3286bf577a",
                HEX.formatHex(RecordFormat.frame(EventCodec.fileVersion(1.0))));
    }

    @Test
    void scalarRecordMatchesTheReferenceVectorByteForByte() {
        assertEquals("1a00000000000000129bd82d09000000000000004010012a0d0a0b0a046c6f7373150000003fe20576ce",
                HEX.formatHex(RecordFormat.frame(EventCodec.scalar("loss", 0.5, 1, 2.0))));
    }
}
