package dev.gradguard.compare;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One policy's aggregate over its seeds.
 *
 * @param policy the policy's spec
 * @param runs how many runs it had
 * @param successes runs that met the task's criterion
 * @param collapses runs that diverged
 * @param crashes runs that failed to finish
 * @param medianMetric the median final metric of the runs that finished
 * @param medianClipRate the median clip rate of the runs that finished
 */
public record PolicySummary(String policy, int runs, int successes, int collapses, int crashes,
        double medianMetric, double medianClipRate) {

    /** Aggregates rows per policy, in the order the policies first appear. */
    public static List<PolicySummary> summarize(List<RunResult> results) {
        Map<String, List<RunResult>> byPolicy = new LinkedHashMap<>();
        for (RunResult r : results) {
            byPolicy.computeIfAbsent(r.policy(), p -> new ArrayList<>()).add(r);
        }
        List<PolicySummary> out = new ArrayList<>();
        byPolicy.forEach((policy, rows) -> out.add(new PolicySummary(policy, rows.size(),
                (int) rows.stream().filter(RunResult::success).count(),
                (int) rows.stream().filter(RunResult::collapsed).count(),
                (int) rows.stream().filter(r -> r.error().isPresent()).count(),
                median(rows.stream().filter(r -> r.error().isEmpty()).mapToDouble(RunResult::finalMetric).toArray()),
                median(rows.stream().filter(r -> r.error().isEmpty()).mapToDouble(RunResult::clipRate).toArray()))));
        return out;
    }

    /** The median of the finite values; NaN when there are none. */
    public static double median(double[] values) {
        double[] finite = Arrays.stream(values).filter(Double::isFinite).sorted().toArray();
        if (finite.length == 0) {
            return Double.NaN;
        }
        int mid = finite.length / 2;
        return finite.length % 2 == 1 ? finite[mid] : (finite[mid - 1] + finite[mid]) / 2;
    }
}
