package dev.gradguard.run;

import java.util.Collections;
import java.util.Map;
import java.util.Optional;

/**
 * The outcome of a {@code train} run: the map written to {@code summary.json}, the closing sentence,
 * and why training stopped early, if it did.
 */
public record TrainSummary(Map<String, Object> asMap, String sentence, Optional<String> stopReason) {

    public TrainSummary {
        asMap = Collections.unmodifiableMap(asMap);
    }
}
