package dev.gradguard.dist;

import java.util.Objects;
import java.util.Set;

/**
 * When {@link Launcher} starts a node's workers again after one of them fails, like torchrun's elastic mode
 * ({@code --max-restarts}): at most {@code max} times per launch, and never after an exit code that a restart
 * cannot change (bad flags, bad data, a run that diverged, a deliberate stop).
 *
 * @param max the most restarts, 0 for none
 * @param finalExitCodes worker exit codes that end the launch at once, whatever {@code max} says
 */
public record Restarts(int max, Set<Integer> finalExitCodes) {
    /** @throws IllegalArgumentException when {@code max} is negative */
    public Restarts {
        Objects.requireNonNull(finalExitCodes, "finalExitCodes");
        finalExitCodes = Set.copyOf(finalExitCodes);
        if (max < 0) {
            throw new IllegalArgumentException("--max-restarts must be at least 0, got " + max);
        }
    }

    /** No restarts: the first failure ends the launch. */
    public static Restarts none() {
        return new Restarts(0, Set.of());
    }

    /** Whether a worker that exited with {@code exitCode} after {@code done} restarts is followed by another. */
    public boolean allowAfter(int done, int exitCode) {
        return done < max && !finalExitCodes.contains(exitCode);
    }
}
