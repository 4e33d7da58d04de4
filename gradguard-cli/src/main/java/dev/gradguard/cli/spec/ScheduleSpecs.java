package dev.gradguard.cli.spec;

import dev.gradguard.optim.LrSchedule;
import dev.gradguard.optim.Schedules;
import java.util.Map;
import java.util.Objects;

/** Parses {@code --schedule} specs into an {@link LrSchedule} through {@link Schedules}' factories. */
public final class ScheduleSpecs {

    /** The spellings {@link #parse} accepts, as error messages list them. */
    public static final String ALLOWED =
            "constant, warmup:STEPS, cosine, cosine:WARMUP, step:SIZE:GAMMA, plateau[:PATIENCE[:FACTOR[:INTERVAL]]]";

    private ScheduleSpecs() {
    }

    /**
     * The schedule {@code spec} names, starting from {@code lr}:
     * <ul>
     *   <li>{@code constant}: {@link Schedules#constant};</li>
     *   <li>{@code warmup:STEPS}: {@link Schedules#warmup};</li>
     *   <li>{@code cosine}, {@code cosine:WARMUP}: {@link Schedules#cosine} over {@code totalSteps} updates;</li>
     *   <li>{@code step:SIZE:GAMMA}: {@link Schedules#stepDecay};</li>
     *   <li>{@code plateau[:PATIENCE[:FACTOR[:INTERVAL]]]}: {@link Schedules#plateau} (defaults 10, 0.1, 100).</li>
     * </ul>
     *
     * @param totalSteps the number of updates in the run; only {@code cosine} reads it
     * @throws IllegalArgumentException naming the spec, what is wrong and the allowed forms
     */
    public static LrSchedule parse(String spec, double lr, long totalSteps) {
        Objects.requireNonNull(spec, "spec");
        String[] parts = spec.split(":", -1);
        try {
            return switch (parts[0]) {
                case "constant" -> {
                    requireParts(parts, 1, 1);
                    yield Schedules.constant(lr);
                }
                case "warmup" -> {
                    requireParts(parts, 2, 2);
                    long steps = SpecNumbers.longInteger(parts[1], "STEPS", 1);
                    yield Schedules.warmup(lr, steps);
                }
                case "cosine" -> {
                    requireParts(parts, 1, 2);
                    long warmup = parts.length > 1 ? SpecNumbers.longInteger(parts[1], "WARMUP", 0) : 0;
                    yield SpecNumbers.build(() -> Schedules.cosine(lr, totalSteps, warmup),
                            Map.of("totalSteps", "steps", "warmup", "WARMUP"));
                }
                case "step" -> {
                    requireParts(parts, 3, 3);
                    long size = SpecNumbers.longInteger(parts[1], "SIZE", 1);
                    double gamma = SpecNumbers.number(parts[2], "GAMMA");
                    yield SpecNumbers.build(() -> Schedules.stepDecay(lr, size, gamma), Map.of("gamma", "GAMMA"));
                }
                case "plateau" -> {
                    requireParts(parts, 1, 4);
                    int patience = parts.length > 1 ? SpecNumbers.integer(parts[1], "PATIENCE", 0)
                            : Schedules.DEFAULT_PLATEAU_PATIENCE;
                    double factor = parts.length > 2 ? SpecNumbers.number(parts[2], "FACTOR")
                            : Schedules.DEFAULT_PLATEAU_FACTOR;
                    long interval = parts.length > 3 ? SpecNumbers.longInteger(parts[3], "INTERVAL", 1)
                            : Schedules.DEFAULT_PLATEAU_INTERVAL;
                    yield SpecNumbers.build(() -> Schedules.plateau(lr, patience, factor, interval),
                            Map.of("factor", "FACTOR"));
                }
                default -> throw new IllegalArgumentException("unknown schedule '" + parts[0] + "'");
            };
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad schedule '" + spec + "': " + e.getMessage() + "; allowed: " + ALLOWED,
                    e);
        }
    }

    private static void requireParts(String[] parts, int min, int max) {
        if (parts.length < min || parts.length > max) {
            int given = parts.length - 1;
            String expected = min == max ? String.valueOf(min - 1) : (min - 1) + " to " + (max - 1);
            throw new IllegalArgumentException("'" + parts[0] + "' takes " + expected + " argument(s), got " + given);
        }
    }
}
