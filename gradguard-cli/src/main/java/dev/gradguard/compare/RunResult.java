package dev.gradguard.compare;

import dev.gradguard.metrics.Json;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One run of a comparison: one row of {@code compare.json}.
 *
 * @param policy the clip policy
 * @param seed the seed
 * @param lr the learning rate
 * @param collapsed the loss or the weights became non-finite, or the loss diverged (ended above ten times
 *     the untrained model's loss), or the run was stopped early (too many non-finite steps in a row, or the
 *     divergence stop: {@code --divergence-stop})
 * @param success the task's success criterion was met on held-out data
 * @param finalMetric the task's metric on held-out data (NaN when the run crashed)
 * @param steps steps run
 * @param skippedSteps steps the guard skipped
 * @param clipRate fraction of steps whose gradients were clipped
 * @param wallSeconds the run's wall time, start-up included
 * @param error present when the run crashed or timed out, with its exit code and last error line
 */
public record RunResult(String policy, long seed, double lr, boolean collapsed, boolean success, double finalMetric, long steps,
        long skippedSteps, double clipRate, double wallSeconds, Optional<String> error) {

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("policy", policy);
        m.put("seed", seed);
        m.put("lr", lr);
        m.put("collapsed", collapsed);
        m.put("success", success);
        m.put("final_metric", Json.number(finalMetric));
        m.put("steps", steps);
        m.put("skipped_steps", skippedSteps);
        m.put("clip_rate", Json.number(clipRate));
        m.put("wall_s", Math.round(wallSeconds * 100) / 100.0);
        error.ifPresent(e -> m.put("error", e));
        return m;
    }
}
