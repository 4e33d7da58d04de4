package dev.gradguard.compare;

import dev.gradguard.run.TrainSettings;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A comparison grid: the policies, the learning rates, how many seeds, and the {@code train} settings every
 * run shares.
 *
 * @param policies the policies ({@link Policy#spec()} forms), each validated, none twice
 * @param defaultPolicy the spec of the policy that stands for {@code train}'s default, when the grid has it
 * @param lrs the learning rates, each a valid {@code lr}, none twice
 * @param seeds seeds 0 .. seeds-1 per policy and learning rate
 * @param parallel runs at once, each with one libtorch thread
 * @param train settings passed to every run ({@code train}'s keys, e.g. {@code task}, {@code steps}); not the
 *     keys {@link #PER_RUN} lists, which the grid sets
 * @param runTimeoutSeconds a run still going after this long is stopped and reported as crashed
 */
public record CompareOptions(List<String> policies, Optional<String> defaultPolicy, List<Double> lrs, int seeds,
        int parallel, Map<String, Object> train, long runTimeoutSeconds) {

    /** The default comparison's policies. */
    public static final List<String> DEFAULT_POLICIES =
            List.of("none", "norm:1.0", "value:0.5", "agc:0.01", "autoclip:10", "zclip");

    /** The {@code train} keys the grid sets for each run, which the shared settings may not. */
    public static final List<String> PER_RUN = List.of("clip", "controller", "lr", "seed", "threads");

    /** The default comparison's learning rate. */
    public static final double DEFAULT_LR = 0.5;

    public CompareOptions {
        if (policies.isEmpty()) {
            throw new IllegalArgumentException("--policies is empty; give at least one clip policy");
        }
        Set<String> seen = new HashSet<>();
        for (String p : policies) {
            if (!seen.add(Policy.parse(p).spec())) {
                throw new IllegalArgumentException("--policies names " + p + " twice"
                        + (defaultPolicy.filter(p::equals).isPresent() ? " ('" + Policy.DEFAULT_WORD + "' is " + p + ")" : "")
                        + "; give each policy once");
            }
        }
        if (defaultPolicy.isPresent() && !policies.contains(defaultPolicy.get())) {
            throw new IllegalArgumentException("the default policy " + defaultPolicy.get() + " is not among the policies");
        }
        if (lrs.isEmpty()) {
            throw new IllegalArgumentException("--lrs is empty; give at least one learning rate");
        }
        if (new HashSet<>(lrs).size() != lrs.size()) {
            throw new IllegalArgumentException("--lrs names a learning rate twice, got " + lrs + "; give each once");
        }
        for (double lr : lrs) {
            TrainSettings.of(Map.of("lr", lr), "--lrs");
        }
        if (seeds < 1) {
            throw new IllegalArgumentException("--seeds must be at least 1, got " + seeds);
        }
        if (parallel < 1) {
            throw new IllegalArgumentException("--parallel must be at least 1, got " + parallel);
        }
        if (runTimeoutSeconds < 1) {
            throw new IllegalArgumentException("--run-timeout must be at least 1 second, got " + runTimeoutSeconds);
        }
        for (String key : PER_RUN) {
            if (train.containsKey(key)) {
                throw new IllegalArgumentException("'" + key + "' is set by compare for each run; remove it from the shared"
                        + " settings (policies: --policies CLIP@CONTROLLER; learning rates: --lrs)");
            }
        }
        policies = List.copyOf(policies);
        lrs = List.copyOf(lrs);
        train = Map.copyOf(train);
    }

    /** A grid of the given policies at one learning rate, without a default policy named. */
    public static CompareOptions of(List<String> policies, double lr, int seeds, int parallel, Map<String, Object> train,
            long runTimeoutSeconds) {
        return new CompareOptions(policies, Optional.empty(), List.of(lr), seeds, parallel, train, runTimeoutSeconds);
    }

    /** The number of runs: policies x learning rates x seeds. */
    public int runs() {
        return policies.size() * lrs.size() * seeds;
    }

    /**
     * The default comparison: the adding problem (T = 30, sum variant) with a GRU and SGD at an aggressive
     * learning rate of {@value #DEFAULT_LR}, where unclipped training blows up within the first hundred steps.
     * Without its learning rate, which the grid sets.
     */
    public static Map<String, Object> defaultTrainSettings() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", "adding");
        m.put("model", "gru");
        m.put("length", 30);
        m.put("optimizer", "sgd");
        m.put("momentum", 0.9);
        m.put("batch-size", 64);
        m.put("steps", 1200);
        return m;
    }
}
