package dev.gradguard.metrics.tensorboard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HistogramTest {

    @Test
    void defaultLimitsAreTensorFlowsExponentialBucketsWithMaxEdges() {
        double[] limits = Histogram.defaultLimits();
        int zero = limits.length / 2;
        // 1e-12 * 1.1^k < 1e20 for k = 0..773, then DBL_MAX, on both sides of 0
        assertEquals(2 * 775 + 1, limits.length);
        assertEquals(-Double.MAX_VALUE, limits[0]);
        assertEquals(Double.MAX_VALUE, limits[limits.length - 1]);
        assertEquals(0.0, limits[zero]);
        assertEquals(1e-12, limits[zero + 1]);
        assertEquals(1e-12 * 1.1, limits[zero + 2]);
        assertTrue(limits[limits.length - 2] < 1e20 && limits[limits.length - 2] * 1.1 >= 1e20);
        for (int i = 1; i < limits.length; i++) {
            assertTrue(limits[i - 1] < limits[i], "limits ascend at " + i);
        }
        for (int i = 0; i < zero; i++) {
            assertEquals(-limits[i], limits[limits.length - 1 - i], "limits are symmetric at " + i);
        }
    }

    @Test
    void aValueOnALimitCountsInTheBucketThatLimitCloses() {
        Histogram h = Histogram.of(new double[] {3.0, 0.0, 1e-12, 1.05e-12, -1e-12, 3.0});
        double[] limits = Histogram.defaultLimits();
        int three = firstLimitAtOrAbove(limits, 3.0);
        assertEquals(List.of(-1e-12, 0.0, 1e-12, 1e-12 * 1.1, limits[three - 1], limits[three]), h.bucketLimits());
        assertEquals(List.of(1.0, 1.0, 1.0, 1.0, 0.0, 2.0), h.bucketCounts());
        assertEquals(-1e-12, h.min());
        assertEquals(3.0, h.max());
        assertEquals(6, h.num());
        assertEquals(6.0 + 1.05e-12, h.sum(), 1e-24);
        assertEquals(18.0, h.sumSquares(), 1e-20);
    }

    @Test
    void mergedBucketsStillPartitionTheValues() {
        Random rng = new Random(7);
        double[] values = new double[500];
        for (int i = 0; i < values.length; i++) {
            values[i] = rng.nextGaussian() * Math.pow(10, rng.nextInt(12) - 6);
        }
        Histogram h = Histogram.of(values);
        double[] recount = new double[h.bucketLimits().size()];
        for (double v : values) {
            for (int i = 0; i < recount.length; i++) {
                double lower = i == 0 ? -Double.MAX_VALUE : h.bucketLimits().get(i - 1);
                if (lower < v && v <= h.bucketLimits().get(i)) {
                    recount[i]++;
                }
            }
        }
        assertArrayEquals(h.bucketCounts().stream().mapToDouble(Double::doubleValue).toArray(), recount);
        assertEquals(values.length, h.num());
        assertTrue(h.bucketCounts().get(0) > 0 && h.bucketCounts().get(recount.length - 1) > 0,
                "no empty bucket at either end");
    }

    @Test
    void nonFiniteValuesAreLeftOut() {
        Histogram h = Histogram.of(new double[] {Double.NaN, 2.0, Double.POSITIVE_INFINITY});
        assertEquals(1, h.num());
        assertEquals(2.0, h.min());
        assertEquals(2.0, h.max());
        assertEquals(List.of(1.0), h.bucketCounts());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Histogram.of(new double[] {Double.NaN}));
        assertEquals("a histogram needs at least one finite value; got 1 values, none finite", e.getMessage());
    }

    private static int firstLimitAtOrAbove(double[] limits, double v) {
        int i = 0;
        while (limits[i] < v) {
            i++;
        }
        return i;
    }
}
