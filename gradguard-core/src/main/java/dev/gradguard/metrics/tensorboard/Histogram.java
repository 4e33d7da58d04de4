package dev.gradguard.metrics.tensorboard;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * TensorBoard's {@code HistogramProto}: summary statistics and buckets. Bucket {@code i} counts the values
 * in {@code (bucketLimits[i-1], bucketLimits[i]]}; bucket 0 starts at {@code -Double.MAX_VALUE}.
 *
 * @param min the smallest value
 * @param max the largest value
 * @param num how many values (the counts' sum)
 * @param sum the values' sum
 * @param sumSquares the sum of the values' squares
 * @param bucketLimits each bucket's upper limit, ascending
 * @param bucketCounts each bucket's count, parallel to {@code bucketLimits}
 */
public record Histogram(double min, double max, double num, double sum, double sumSquares, List<Double> bucketLimits,
        List<Double> bucketCounts) {

    /**
     * TensorFlow's default bucket limits ({@code histogram.cc}, {@code InitDefaultBucketsInner}): 0, then
     * {@code ±1e-12 * 1.1^k} while below 1e20 in magnitude, then {@code ±Double.MAX_VALUE}; computed by the
     * same repeated multiplication, so the limits are TensorFlow's to the bit.
     */
    private static final double[] DEFAULT_LIMITS = defaultLimits();

    public Histogram {
        if (bucketLimits.size() != bucketCounts.size()) {
            throw new IllegalArgumentException(bucketLimits.size() + " bucket limits for " + bucketCounts.size()
                    + " bucket counts");
        }
        bucketLimits = List.copyOf(bucketLimits);
        bucketCounts = List.copyOf(bucketCounts);
    }

    /**
     * The histogram of {@code values} over TensorFlow's default buckets. Runs of empty buckets between
     * non-empty ones are merged into one empty bucket and empty buckets at either end are left out, as
     * TensorFlow's {@code EncodeToProto(preserve_zero_buckets=false)} merges them: every value still lies in
     * {@code (bucketLimits[i-1], bucketLimits[i]]} of its bucket. (TensorFlow itself counts a value that
     * equals a limit in the bucket above; here it counts in the bucket the limit closes, as the proto's
     * documentation says.)
     *
     * <p>Non-finite values are left out: TensorBoard cannot draw a bucket at NaN or an infinity.
     *
     * @throws IllegalArgumentException when {@code values} holds no finite value
     */
    public static Histogram of(double[] values) {
        double[] counts = new double[DEFAULT_LIMITS.length];
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        double sum = 0;
        double sumSquares = 0;
        int num = 0;
        for (double v : values) {
            if (!Double.isFinite(v)) {
                continue;
            }
            min = Math.min(min, v);
            max = Math.max(max, v);
            sum += v;
            sumSquares += v * v;
            num++;
            counts[bucketOf(v)]++;
        }
        if (num == 0) {
            throw new IllegalArgumentException("a histogram needs at least one finite value; got "
                    + values.length + " values, none finite");
        }
        List<Double> limits = new ArrayList<>();
        List<Double> kept = new ArrayList<>();
        int last = bucketOf(max);
        for (int i = bucketOf(min); i <= last; i++) {
            if (counts[i] == 0) {
                while (counts[i + 1] == 0) {
                    i++;
                }
            }
            limits.add(DEFAULT_LIMITS[i]);
            kept.add(counts[i]);
        }
        return new Histogram(min, max, num, sum, sumSquares, limits, kept);
    }

    /** The first limit at or above {@code v}: the bucket {@code (limit[i-1], limit[i]]} that holds it. */
    private static int bucketOf(double v) {
        int i = Arrays.binarySearch(DEFAULT_LIMITS, v);
        return i >= 0 ? i : -i - 1;
    }

    static double[] defaultLimits() {
        List<Double> positive = new ArrayList<>();
        for (double v = 1.0e-12; v < 1.0e20; v *= 1.1) {
            positive.add(v);
        }
        positive.add(Double.MAX_VALUE);
        double[] limits = new double[2 * positive.size() + 1];
        int zero = positive.size();
        for (int k = 0; k < positive.size(); k++) {
            limits[zero + 1 + k] = positive.get(k);
            limits[zero - 1 - k] = -positive.get(k);
        }
        return limits;
    }
}
