package dev.gradguard.optim;

import java.util.Map;

/** The base learning rate for every update. */
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
    String name() {
        return "constant";
    }

    @Override
    Map<String, Object> shape() {
        return Map.of();
    }
}
