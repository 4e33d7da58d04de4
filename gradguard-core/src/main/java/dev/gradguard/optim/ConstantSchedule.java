package dev.gradguard.optim;

/** {@code constant}: the base learning rate for every update. */
final class ConstantSchedule extends UpdateCountSchedule {
    private final double baseLr;

    ConstantSchedule(double baseLr) {
        this.baseLr = baseLr;
    }

    @Override
    double lrAt(long k) {
        return baseLr;
    }

    @Override
    public String spec() {
        return "constant";
    }
}
