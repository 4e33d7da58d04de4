package dev.gradguard.bench;

import java.util.Arrays;

/** Order statistics for benchmark samples. */
final class Stats {
    private Stats() {
    }

    /** The median (mean of the two middle values for an even count); NaN for no samples. */
    static double median(double[] samples) {
        if (samples.length == 0) {
            return Double.NaN;
        }
        double[] sorted = samples.clone();
        Arrays.sort(sorted);
        int mid = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
