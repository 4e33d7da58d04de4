package dev.gradguard.compare;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One policy's aggregate over its seeds at one learning rate.
 *
 * @param policy the policy's spec
 * @param lr the learning rate
 * @param runs how many runs it had
 * @param successes runs that met the task's criterion
 * @param collapses runs that diverged
 * @param crashes runs that failed to finish
 * @param nonFiniteMetrics runs that finished with a non-finite metric (left out of the median)
 * @param medianMetric the median finite final metric of the runs that finished; NaN when none has one
 * @param medianClipRate the median clip rate of the runs that finished
 */
public record PolicySummary(String policy, double lr, int runs, int successes, int collapses, int crashes,
        int nonFiniteMetrics, double medianMetric, double medianClipRate) {

    /** Aggregates rows per policy and learning rate, in the order they first appear. */
    public static List<PolicySummary> summarize(List<RunResult> results) {
        Map<List<Object>, List<RunResult>> byCell = new LinkedHashMap<>();
        for (RunResult r : results) {
            byCell.computeIfAbsent(List.of(r.policy(), r.lr()), k -> new ArrayList<>()).add(r);
        }
        List<PolicySummary> out = new ArrayList<>();
        byCell.forEach((key, rows) -> {
            List<RunResult> finished = rows.stream().filter(r -> r.error().isEmpty()).toList();
            out.add(new PolicySummary((String) key.get(0), (Double) key.get(1), rows.size(),
                    (int) rows.stream().filter(RunResult::success).count(),
                    (int) rows.stream().filter(RunResult::collapsed).count(),
                    rows.size() - finished.size(),
                    (int) finished.stream().filter(r -> !Double.isFinite(r.finalMetric())).count(),
                    median(finished.stream().mapToDouble(RunResult::finalMetric).toArray()),
                    median(finished.stream().mapToDouble(RunResult::clipRate).toArray())));
        });
        return out;
    }

    /**
     * The median metric in words: the number; with how many non-finite metrics it leaves out; or, when every
     * finished run ended non-finite, that ({@code non-finite in 3 of 3}); {@code no run finished} when none did.
     */
    public String medianMetricText() {
        int finished = runs - crashes;
        if (finished == 0) {
            return "no run finished";
        }
        if (nonFiniteMetrics == finished) {
            return "non-finite in " + nonFiniteMetrics + " of " + finished;
        }
        String median = String.format(Locale.ROOT, "%.4g", medianMetric);
        return nonFiniteMetrics == 0 ? median : median + " (" + nonFiniteMetrics + " non-finite left out)";
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
