package dev.gradguard.optim;

import java.util.Map;
import java.util.Objects;

/** Builds an {@link LrSchedule} from its {@code --schedule} spelling. */
public final class Schedules {

    /** The spellings {@link #parse} accepts, as error messages list them. */
    public static final String ALLOWED_FORMS =
            "constant, warmup:STEPS, cosine, cosine:WARMUP, step:SIZE:GAMMA, plateau[:PATIENCE[:FACTOR[:INTERVAL]]]";

    /** {@code plateau}'s defaults: PyTorch's patience and factor, and one metric every 100 updates. */
    public static final int DEFAULT_PLATEAU_PATIENCE = 10;
    public static final double DEFAULT_PLATEAU_FACTOR = 0.1;
    public static final long DEFAULT_PLATEAU_INTERVAL = 100;

    private Schedules() {
    }

    /**
     * The schedule {@code spec} names, starting from {@code baseLr}:
     * <ul>
     *   <li>{@code constant}: {@code baseLr} throughout;</li>
     *   <li>{@code warmup:STEPS}: update {@code k} uses {@code baseLr * min(1, (k + 1) / STEPS)};</li>
     *   <li>{@code cosine}, {@code cosine:WARMUP}: cosine annealing from {@code baseLr} to 0 over
     *       {@code totalSteps} updates, after an optional linear warm-up;</li>
     *   <li>{@code step:SIZE:GAMMA}: {@code baseLr * GAMMA^floor(k / SIZE)};</li>
     *   <li>{@code plateau[:PATIENCE[:FACTOR[:INTERVAL]]]}: ReduceLROnPlateau on the mean training loss of
     *       every {@code INTERVAL} updates (defaults 10, 0.1, 100).</li>
     * </ul>
     * Each schedule's class documents its formula and the PyTorch scheduler it matches. The returned
     * schedule's {@link LrSchedule#spec()} is the canonical spelling, with defaults filled in.
     *
     * @param totalSteps the number of updates in the run; only {@code cosine} reads it
     * @throws IllegalArgumentException naming the spec, what is wrong and the allowed forms
     */
    /** The learning rate {@code lr} at every step ({@code torch.optim.lr_scheduler.ConstantLR} with factor 1). */
    public static LrSchedule constant(double lr) {
        return parse("constant", lr, 0);
    }

    /** A linear warm-up from {@code lr / steps} to {@code lr} over {@code steps} updates, then constant. */
    public static LrSchedule warmup(double lr, long steps) {
        return parse("warmup:" + steps, lr, 0);
    }

    /**
     * Cosine annealing from {@code lr} to 0 over {@code totalSteps} updates, after {@code warmup} updates of linear
     * warm-up ({@code CosineAnnealingLR}).
     */
    public static LrSchedule cosine(double lr, long totalSteps, long warmup) {
        return parse("cosine:" + warmup, lr, totalSteps);
    }

    /** {@code lr} times {@code gamma} every {@code size} updates ({@code StepLR}). */
    public static LrSchedule stepDecay(double lr, long size, double gamma) {
        return parse("step:" + size + ":" + gamma, lr, 0);
    }

    /**
     * {@code ReduceLROnPlateau} on the training loss: {@code lr} times {@code factor} after {@code patience}
     * intervals of {@code interval} updates without improvement.
     */
    public static LrSchedule plateau(double lr, int patience, double factor, long interval) {
        return parse("plateau:" + patience + ":" + factor + ":" + interval, lr, 0);
    }

    public static LrSchedule parse(String spec, double baseLr, long totalSteps) {
        Objects.requireNonNull(spec, "schedule spec");
        if (!(Double.isFinite(baseLr) && baseLr > 0)) {
            throw new IllegalArgumentException("base lr must be finite and > 0, got " + baseLr);
        }
        String[] parts = spec.split(":", -1);
        try {
            return switch (parts[0]) {
                case "constant" -> {
                    requireParts(parts, 1, 1);
                    yield new ConstantSchedule(baseLr);
                }
                case "warmup" -> {
                    requireParts(parts, 2, 2);
                    yield new WarmupSchedule(baseLr, parseLong(parts[1], "STEPS", 1));
                }
                case "cosine" -> {
                    requireParts(parts, 1, 2);
                    long warmup = parts.length > 1 ? parseLong(parts[1], "WARMUP", 0) : 0;
                    yield new CosineSchedule(baseLr, totalSteps, warmup);
                }
                case "step" -> {
                    requireParts(parts, 3, 3);
                    yield new StepDecaySchedule(baseLr, parseLong(parts[1], "SIZE", 1), parseDouble(parts[2], "GAMMA"));
                }
                case "plateau" -> {
                    requireParts(parts, 1, 4);
                    long patience = parts.length > 1 ? parseLong(parts[1], "PATIENCE", 0) : DEFAULT_PLATEAU_PATIENCE;
                    if (patience > Integer.MAX_VALUE) {
                        throw new IllegalArgumentException("PATIENCE must be at most " + Integer.MAX_VALUE
                                + ", got " + patience);
                    }
                    double factor = parts.length > 2 ? parseDouble(parts[2], "FACTOR") : DEFAULT_PLATEAU_FACTOR;
                    long interval = parts.length > 3 ? parseLong(parts[3], "INTERVAL", 1) : DEFAULT_PLATEAU_INTERVAL;
                    yield new PlateauSchedule(baseLr, (int) patience, factor, interval);
                }
                default -> throw new IllegalArgumentException("unknown schedule '" + parts[0] + "'");
            };
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad schedule '" + spec + "': " + e.getMessage()
                    + "; allowed: " + ALLOWED_FORMS, e);
        }
    }

    /**
     * Checks that a saved schedule state belongs to a schedule spelled {@code spec}: restoring the step
     * count of one schedule into another would silently change the learning rate.
     */
    static void requireSameSpec(String spec, Map<String, Object> state) {
        Object saved = state.get("schedule");
        if (!spec.equals(saved)) {
            throw new IllegalArgumentException("state key 'schedule' holds " + (saved == null ? "nothing"
                    : "'" + saved + "'") + " but this schedule is '" + spec + "'");
        }
    }

    private static void requireParts(String[] parts, int min, int max) {
        if (parts.length < min || parts.length > max) {
            int given = parts.length - 1;
            String expected = min == max ? String.valueOf(min - 1) : (min - 1) + " to " + (max - 1);
            throw new IllegalArgumentException("'" + parts[0] + "' takes " + expected + " argument(s), got " + given);
        }
    }

    private static long parseLong(String text, String field, long min) {
        long value;
        try {
            value = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + " must be an integer >= " + min + ", got '" + text + "'");
        }
        if (value < min) {
            throw new IllegalArgumentException(field + " must be an integer >= " + min + ", got " + value);
        }
        return value;
    }

    private static double parseDouble(String text, String field) {
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + " must be a number, got '" + text + "'");
        }
    }
}
