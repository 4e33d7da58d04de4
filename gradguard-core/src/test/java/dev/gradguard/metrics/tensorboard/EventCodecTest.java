package dev.gradguard.metrics.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class EventCodecTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void varintsFollowTheProtobufEncodingGuide() {
        // the guide's example: 150 in field 1 is 08 96 01; negative int64 takes ten bytes
        assertEquals("089601", HEX.formatHex(new ProtoWriter().int64Field(1, 150).toByteArray()));
        assertEquals("08ffffffffffffffffff01", HEX.formatHex(new ProtoWriter().int64Field(1, -1).toByteArray()));
    }

    @Test
    void defaultsAreLeftOutButAOneofFloatIsWrittenEvenWhenZero() {
        assertEquals("", HEX.formatHex(new ProtoWriter().doubleField(1, 0.0).int64Field(2, 0).stringField(3, "")
                .packedDoubles(6, new double[0]).toByteArray()));
        assertEquals("1500000000", HEX.formatHex(new ProtoWriter().floatInOneof(2, 0f).toByteArray()));
        assertEquals("090000000000000080", HEX.formatHex(new ProtoWriter().doubleField(1, -0.0).toByteArray()));
    }

    @Test
    void histogramEventRoundTripsWithPackedBuckets() {
        Histogram h = new Histogram(-1.5, 2.0, 3, 1.5, 7.25, List.of(-1.0, 0.0, 2.0), List.of(1.0, 0.0, 2.0));
        Event e = EventCodec.decode(EventCodec.histogram("h", h, 7, 3.5));
        assertEquals(new Event(3.5, 7, Optional.empty(), List.of(new SummaryValue("h", OptionalDouble.empty(),
                Optional.of(h)))), e);
    }

    @Test
    void decodingSkipsUnknownFieldsAndAcceptsUnpackedRepeatedDoubles() {
        ProtoWriter histo = new ProtoWriter().doubleField(3, 1.0).doubleField(6, 2.0).doubleField(7, 1.0);
        ProtoWriter value = new ProtoWriter().stringField(1, "x").stringField(7, "node").messageField(5, histo);
        byte[] event = new ProtoWriter().doubleField(1, 9.0).int64Field(2, -3).stringField(10, "source")
                .messageField(5, new ProtoWriter().messageField(1, value)).toByteArray();
        Event e = EventCodec.decode(event);
        assertEquals(-3, e.step());
        assertEquals("x", e.values().get(0).tag());
        assertEquals(List.of(2.0), e.values().get(0).histogram().orElseThrow().bucketLimits());
        assertEquals(List.of(1.0), e.values().get(0).histogram().orElseThrow().bucketCounts());
    }

    @Test
    void aFieldRunningPastItsMessageIsMalformed() {
        byte[] truncated = HEX.parseHex("2a0d0a0b");
        ProtoReader.MalformedException e = assertThrows(ProtoReader.MalformedException.class,
                () -> EventCodec.decode(truncated));
        assertTrue(e.getMessage().contains("runs past the end"), e.getMessage());
    }
}
