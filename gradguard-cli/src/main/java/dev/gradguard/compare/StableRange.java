package dev.gradguard.compare;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The widest run of adjacent grid learning rates at which a policy succeeds: a learning rate is stable when at
 * least {@value #MIN_SUCCESS_RATE} of its runs meet the task's criterion (a crashed run counts as a failure).
 *
 * @param low the smallest learning rate of the run
 * @param high the largest
 */
public record StableRange(double low, double high) {
    /** The share of a learning rate's runs that must succeed for it to count as stable. */
    public static final double MIN_SUCCESS_RATE = 0.8;

    /** How many times larger the highest stable learning rate is than the lowest; 1 for a single one. */
    public double ratio() {
        return high / low;
    }

    /**
     * Each policy's stable range, in the order the policies first appear in {@code rows}. The grid is every
     * learning rate in {@code rows}; adjacent means next to each other in that grid, sorted, so a grid
     * learning rate where a policy fails (or has no runs) splits its range. Of several runs, the widest
     * (largest {@link #ratio()}) wins, and of equally wide ones the lowest.
     *
     * @return per policy its range, or empty when it is stable at no learning rate
     */
    public static Map<String, Optional<StableRange>> of(List<RunResult> rows) {
        List<Double> grid = new ArrayList<>(new TreeSet<>(rows.stream().map(RunResult::lr).toList()));
        Map<String, Optional<StableRange>> out = new LinkedHashMap<>();
        for (String policy : rows.stream().map(RunResult::policy).distinct().toList()) {
            Optional<StableRange> best = Optional.empty();
            int start = -1;
            for (int i = 0; i <= grid.size(); i++) {
                if (i < grid.size() && stable(rows, policy, grid.get(i))) {
                    start = start < 0 ? i : start;
                    continue;
                }
                if (start >= 0) {
                    StableRange r = new StableRange(grid.get(start), grid.get(i - 1));
                    if (best.isEmpty() || r.ratio() > best.get().ratio()) {
                        best = Optional.of(r);
                    }
                    start = -1;
                }
            }
            out.put(policy, best);
        }
        return out;
    }

    /** Whether at least {@value #MIN_SUCCESS_RATE} of the policy's runs at {@code lr} succeeded; false without runs. */
    static boolean stable(List<RunResult> rows, String policy, double lr) {
        List<RunResult> cell = rows.stream().filter(r -> r.policy().equals(policy) && r.lr() == lr).toList();
        long successes = cell.stream().filter(RunResult::success).count();
        return !cell.isEmpty() && successes >= MIN_SUCCESS_RATE * cell.size() - 1e-9;
    }
}
