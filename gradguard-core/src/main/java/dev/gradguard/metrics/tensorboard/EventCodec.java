package dev.gradguard.metrics.tensorboard;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * Encodes and decodes the {@code Event} messages TensorBoard reads, by the field numbers of TensorFlow's
 * {@code event.proto}, {@code summary.proto} and {@code histogram.proto} (see
 * {@code shared/reference/tensorboard-format.md}).
 *
 * <p>Scalars are written old style, {@code Summary.Value.simple_value}: it is what PyTorch's
 * {@code SummaryWriter.add_scalar} writes by default, TensorBoard converts it to its scalars plugin on load,
 * and it takes fewer bytes than the new style (a {@code TensorProto} plus plugin metadata). Like every
 * TensorBoard scalar it is a float32: a double is rounded, one beyond float range becomes an infinity.
 */
final class EventCodec {
    static final String FILE_VERSION = "brain.Event:2";

    // Event
    private static final int WALL_TIME = 1;
    private static final int STEP = 2;
    private static final int FILE_VERSION_FIELD = 3;
    private static final int SUMMARY = 5;
    // Summary
    private static final int VALUE = 1;
    // Summary.Value
    private static final int TAG = 1;
    private static final int SIMPLE_VALUE = 2;
    private static final int HISTO = 5;
    private static final int METADATA = 9;
    // SummaryMetadata, PluginData
    private static final int PLUGIN_DATA = 1;
    private static final int PLUGIN_NAME = 1;
    private static final int PLUGIN_CONTENT = 2;
    // HistogramProto
    private static final int MIN = 1;
    private static final int MAX = 2;
    private static final int NUM = 3;
    private static final int SUM = 4;
    private static final int SUM_SQUARES = 5;
    private static final int BUCKET_LIMIT = 6;
    private static final int BUCKET = 7;

    private EventCodec() {
    }

    /** The header event every file starts with. */
    static byte[] fileVersion(double wallTime) {
        return new ProtoWriter().doubleField(WALL_TIME, wallTime).stringField(FILE_VERSION_FIELD, FILE_VERSION)
                .toByteArray();
    }

    static byte[] scalar(String tag, double value, long step, double wallTime) {
        return summaryEvent(new ProtoWriter().stringField(TAG, tag).floatInOneof(SIMPLE_VALUE, (float) value), step,
                wallTime);
    }

    static byte[] histogram(String tag, Histogram h, long step, double wallTime) {
        ProtoWriter histo = new ProtoWriter().doubleField(MIN, h.min()).doubleField(MAX, h.max())
                .doubleField(NUM, h.num()).doubleField(SUM, h.sum()).doubleField(SUM_SQUARES, h.sumSquares())
                .packedDoubles(BUCKET_LIMIT, toArray(h.bucketLimits()))
                .packedDoubles(BUCKET, toArray(h.bucketCounts()));
        return summaryEvent(new ProtoWriter().stringField(TAG, tag).messageField(HISTO, histo), step, wallTime);
    }

    /**
     * A value that only carries a plugin's data ({@code SummaryMetadata.plugin_data}), as the HParams plugin
     * reads it; TensorBoard gives such a value an empty tensor on load.
     */
    static byte[] pluginData(String tag, String pluginName, byte[] content, long step, double wallTime) {
        ProtoWriter plugin = new ProtoWriter().stringField(PLUGIN_NAME, pluginName).bytesField(PLUGIN_CONTENT, content);
        ProtoWriter metadata = new ProtoWriter().messageField(PLUGIN_DATA, plugin);
        return summaryEvent(new ProtoWriter().stringField(TAG, tag).messageField(METADATA, metadata), step, wallTime);
    }

    private static byte[] summaryEvent(ProtoWriter value, long step, double wallTime) {
        ProtoWriter summary = new ProtoWriter().messageField(VALUE, value);
        return new ProtoWriter().doubleField(WALL_TIME, wallTime).int64Field(STEP, step)
                .messageField(SUMMARY, summary).toByteArray();
    }

    /**
     * Decodes a serialized {@code Event}; fields this codec does not know are skipped.
     *
     * @throws ProtoReader.MalformedException when the bytes are not a well-formed message
     */
    static Event decode(byte[] data) {
        double wallTime = 0;
        long step = 0;
        Optional<String> fileVersion = Optional.empty();
        List<SummaryValue> values = new ArrayList<>();
        ProtoReader event = new ProtoReader(data);
        while (event.nextField()) {
            switch (event.fieldNumber()) {
                case WALL_TIME -> wallTime = event.readDouble();
                case STEP -> step = event.readInt64();
                case FILE_VERSION_FIELD -> fileVersion = Optional.of(event.readString());
                case SUMMARY -> {
                    ProtoReader summary = event.readMessage();
                    while (summary.nextField()) {
                        if (summary.fieldNumber() == VALUE) {
                            values.add(decodeValue(summary.readMessage()));
                        } else {
                            summary.skipField();
                        }
                    }
                }
                default -> event.skipField();
            }
        }
        return new Event(wallTime, step, fileVersion, values);
    }

    private static SummaryValue decodeValue(ProtoReader value) {
        String tag = "";
        OptionalDouble scalar = OptionalDouble.empty();
        Optional<Histogram> histogram = Optional.empty();
        while (value.nextField()) {
            switch (value.fieldNumber()) {
                case TAG -> tag = value.readString();
                case SIMPLE_VALUE -> scalar = OptionalDouble.of(value.readFloat());
                case HISTO -> histogram = Optional.of(decodeHistogram(value.readMessage()));
                default -> value.skipField();
            }
        }
        return new SummaryValue(tag, scalar, histogram);
    }

    private static Histogram decodeHistogram(ProtoReader histo) {
        double min = 0;
        double max = 0;
        double num = 0;
        double sum = 0;
        double sumSquares = 0;
        List<Double> limits = new ArrayList<>();
        List<Double> counts = new ArrayList<>();
        while (histo.nextField()) {
            switch (histo.fieldNumber()) {
                case MIN -> min = histo.readDouble();
                case MAX -> max = histo.readDouble();
                case NUM -> num = histo.readDouble();
                case SUM -> sum = histo.readDouble();
                case SUM_SQUARES -> sumSquares = histo.readDouble();
                case BUCKET_LIMIT -> addAll(limits, histo.readRepeatedDouble());
                case BUCKET -> addAll(counts, histo.readRepeatedDouble());
                default -> histo.skipField();
            }
        }
        if (limits.size() != counts.size()) {
            throw new ProtoReader.MalformedException("a histogram has " + limits.size() + " bucket limits for "
                    + counts.size() + " buckets");
        }
        return new Histogram(min, max, num, sum, sumSquares, limits, counts);
    }

    private static double[] toArray(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static void addAll(List<Double> to, double[] values) {
        for (double v : values) {
            to.add(v);
        }
    }
}
