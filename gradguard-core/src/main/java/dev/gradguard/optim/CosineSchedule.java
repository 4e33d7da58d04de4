package dev.gradguard.optim;

import java.util.Map;

/**
 * Cosine annealing to 0 over the run, after an optional linear
 * warm-up of {@code W} updates.
 *
 * <p>Without warm-up, update {@code k} uses PyTorch's {@code CosineAnnealingLR} with
 * {@code T_max = totalSteps} and {@code eta_min = 0} (its closed form, Loshchilov and Hutter, SGDR, 2017):
 * {@code baseLr * (1 + cos(pi * k / T)) / 2}. With warm-up, updates {@code k < W} use the
 * {@link WarmupSchedule} ramp {@code baseLr * (k + 1) / W}, and the cosine then runs over the remaining
 * {@code T - W} updates: {@code baseLr * (1 + cos(pi * (k - W) / (T - W))) / 2}. From update {@code T} on
 * the learning rate stays at 0 instead of rising again as the periodic closed form would.
 */
final class CosineSchedule extends UpdateCountSchedule {
    private final double baseLr;
    private final long totalUpdates;
    private final long warmupUpdates;

    CosineSchedule(double baseLr, long totalUpdates, long warmupUpdates) {
        if (warmupUpdates < 0) {
            throw new IllegalArgumentException("warmup must be >= 0, got " + warmupUpdates);
        }
        if (totalUpdates <= warmupUpdates) {
            throw new IllegalArgumentException("totalSteps must be greater than warmup, got totalSteps "
                    + totalUpdates + " and warmup " + warmupUpdates);
        }
        this.baseLr = baseLr;
        this.totalUpdates = totalUpdates;
        this.warmupUpdates = warmupUpdates;
    }

    @Override
    double lrAt(long k) {
        if (k < warmupUpdates) {
            return baseLr * WarmupSchedule.factor(k, warmupUpdates);
        }
        if (k >= totalUpdates) {
            return 0.0;
        }
        double progress = (double) (k - warmupUpdates) / (totalUpdates - warmupUpdates);
        return baseLr * (1 + Math.cos(Math.PI * progress)) / 2;
    }

    @Override
    String name() {
        return "cosine";
    }

    @Override
    Map<String, Object> shape() {
        return Map.of("warmup", warmupUpdates);
    }
}
