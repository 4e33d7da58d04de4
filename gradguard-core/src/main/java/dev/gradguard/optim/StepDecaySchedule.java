package dev.gradguard.optim;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * PyTorch's {@code StepLR}, stepped once per update. Update {@code k} uses
 * {@code baseLr * gamma^floor(k / size)}.
 */
final class StepDecaySchedule extends UpdateCountSchedule {
    private final double baseLr;
    private final long stepSize;
    private final double gamma;

    StepDecaySchedule(double baseLr, long stepSize, double gamma) {
        if (stepSize < 1) {
            throw new IllegalArgumentException("size must be >= 1, got " + stepSize);
        }
        if (!(Double.isFinite(gamma) && gamma > 0)) {
            throw new IllegalArgumentException("gamma must be finite and > 0, got " + gamma);
        }
        this.baseLr = baseLr;
        this.stepSize = stepSize;
        this.gamma = gamma;
    }

    @Override
    double lrAt(long k) {
        return baseLr * Math.pow(gamma, k / stepSize);
    }

    @Override
    String name() {
        return "step";
    }

    @Override
    Map<String, Object> shape() {
        Map<String, Object> shape = new LinkedHashMap<>();
        shape.put("size", stepSize);
        shape.put("gamma", gamma);
        return shape;
    }
}
