package dev.gradguard.dist;

import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * How a {@link Launcher} run ended.
 *
 * @param exitCode 0 when every worker exited 0; otherwise the first failed worker's exit code (1 if that
 *     was not in 1..255)
 * @param failedRank the global rank of the first worker that exited non-zero, empty on success
 * @param failedExitCode that worker's own exit code (128 + n when killed by signal n), 0 on success
 * @param lastErrorLine that worker's last line on standard error that names an error (else its last line on
 *     standard error, else on standard output), empty on success
 * @param workerExitCodes every worker's exit code, by local rank, after the teardown (a worker stopped by
 *     the launcher shows 143 or 137)
 * @param restarts how many times the workers were started again after a failure ({@link Restarts}); the other
 *     fields describe the last start
 */
public record LaunchResult(int exitCode, OptionalInt failedRank, int failedExitCode, String lastErrorLine,
        List<Integer> workerExitCodes, int restarts) {

    public LaunchResult {
        Objects.requireNonNull(failedRank, "failedRank");
        Objects.requireNonNull(lastErrorLine, "lastErrorLine");
        workerExitCodes = List.copyOf(workerExitCodes);
    }

    public boolean succeeded() {
        return failedRank.isEmpty();
    }

    /** One line for the user: what failed, with which code, and its last error line; the restarts made. */
    public String message() {
        if (succeeded()) {
            return "all " + workerExitCodes.size() + " workers exited 0" + afterRestarts();
        }
        return "rank " + failedRank.getAsInt() + " exited with code " + failedExitCode
                + (lastErrorLine.isEmpty() ? "" : ", last error: " + lastErrorLine)
                + "; the other workers were stopped" + afterRestarts();
    }

    private String afterRestarts() {
        return restarts == 0 ? "" : " (after " + restarts + (restarts == 1 ? " restart)" : " restarts)");
    }
}
