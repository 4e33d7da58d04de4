package dev.gradguard.run;

import java.util.Collections;
import java.util.Map;
import java.util.Optional;

/**
 * The outcome of a {@code train} run: the map written to {@code summary.json}, the closing sentence, why
 * training stopped early, if it did, and whether that was a signal (to this process or, in data-parallel
 * training, to another rank) rather than the guard.
 */
public record TrainSummary(Map<String, Object> asMap, String sentence, Optional<String> stopReason, boolean interrupted) {

    public TrainSummary {
        asMap = Collections.unmodifiableMap(asMap);
    }

    /** A summary of a run that was not interrupted by a signal. */
    public TrainSummary(Map<String, Object> asMap, String sentence, Optional<String> stopReason) {
        this(asMap, sentence, stopReason, false);
    }
}
