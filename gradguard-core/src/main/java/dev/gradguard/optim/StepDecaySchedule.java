package dev.gradguard.optim;

/**
 * {@code step:SIZE:GAMMA}: PyTorch's {@code StepLR}, stepped once per update. Update {@code k} uses
 * {@code baseLr * gamma^floor(k / SIZE)}.
 */
final class StepDecaySchedule extends UpdateCountSchedule {
    private final double baseLr;
    private final long stepSize;
    private final double gamma;

    StepDecaySchedule(double baseLr, long stepSize, double gamma) {
        if (stepSize < 1) {
            throw new IllegalArgumentException("step size must be >= 1, got " + stepSize);
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
    public String spec() {
        return "step:" + stepSize + ":" + gamma;
    }
}
