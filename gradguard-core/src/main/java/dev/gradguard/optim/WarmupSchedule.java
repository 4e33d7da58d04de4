package dev.gradguard.optim;

import java.util.Map;

/**
 * A linear warm-up over the first {@code N} updates, then the base learning rate.
 * Update {@code k} (from 0) uses {@code baseLr * min(1, (k + 1) / N)}, so the first update already moves
 * the weights ({@code baseLr / N}) and update {@code N - 1} reaches {@code baseLr}; this is PyTorch's
 * {@code LambdaLR} with {@code lambda k: min(1, (k + 1) / N)}.
 */
final class WarmupSchedule extends UpdateCountSchedule {
    private final double baseLr;
    private final long warmupUpdates;

    WarmupSchedule(double baseLr, long warmupUpdates) {
        if (warmupUpdates < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + warmupUpdates);
        }
        this.baseLr = baseLr;
        this.warmupUpdates = warmupUpdates;
    }

    /** The warm-up multiplier {@code min(1, (k + 1) / n)} for update {@code k}. */
    static double factor(long k, long n) {
        return Math.min(1.0, (double) (k + 1) / n);
    }

    @Override
    double lrAt(long k) {
        return baseLr * factor(k, warmupUpdates);
    }

    @Override
    String name() {
        return "warmup";
    }

    @Override
    Map<String, Object> shape() {
        return Map.of("steps", warmupUpdates);
    }
}
