package dev.gradguard.cli.spec;

import dev.gradguard.guard.DivergenceStop;
import java.util.Map;
import java.util.Objects;

/** Parses {@code --divergence-stop} specs into a {@link DivergenceStop}. */
public final class DivergenceSpecs {

    /** The spellings {@link #parse} accepts, as error messages list them. */
    public static final String ALLOWED = "off, or FACTOR:STEPS (stop when the steps with a loss above FACTOR > 1 times the"
            + " first step's outnumber the others by STEPS >= 1)";

    private DivergenceSpecs() {
    }

    /**
     * The divergence stop {@code spec} names: {@code off} ({@link DivergenceStop#off()}) or {@code FACTOR:STEPS}
     * ({@link DivergenceStop#of}).
     *
     * @throws IllegalArgumentException naming the spec, what is wrong and the allowed forms
     */
    public static DivergenceStop parse(String spec) {
        Objects.requireNonNull(spec, "spec");
        String trimmed = spec.trim();
        if (trimmed.equalsIgnoreCase("off")) {
            return DivergenceStop.off();
        }
        String[] parts = trimmed.split(":", -1);
        try {
            if (parts.length != 2) {
                throw new IllegalArgumentException("expected FACTOR:STEPS");
            }
            double factor = SpecNumbers.number(parts[0], "FACTOR");
            int steps = SpecNumbers.integer(parts[1], "STEPS", 1);
            return SpecNumbers.build(() -> DivergenceStop.of(factor, steps), Map.of("divergence factor", "FACTOR"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad divergence-stop '" + spec + "': " + e.getMessage() + "; allowed: "
                    + ALLOWED, e);
        }
    }
}
