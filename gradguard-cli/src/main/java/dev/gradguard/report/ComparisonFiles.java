package dev.gradguard.report;

import dev.gradguard.compare.CompareOptions;
import dev.gradguard.compare.Comparison;
import dev.gradguard.compare.PolicySummary;
import dev.gradguard.compare.RunResult;
import dev.gradguard.compare.StableRange;
import dev.gradguard.io.AtomicFiles;
import dev.gradguard.metrics.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Writes a comparison's {@code compare.json}, {@code compare.md}, {@code compare.png} (the curves) and
 * {@code compare-map.png} (the stability map).
 */
public final class ComparisonFiles {
    /** The files {@link #write} writes, in its directory. */
    public static final List<String> FILES = List.of("compare.json", "compare.md", "compare.png", "compare-map.png");

    private ComparisonFiles() {
    }

    /** Writes the files {@link #FILES} names into {@code outDir}. */
    public static void write(List<RunResult> results, CompareOptions options, String metric, Path outDir, double wallSeconds)
            throws IOException {
        StabilityMap map = StabilityMap.of(results);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("settings", options.train());
        doc.put("policies", options.policies());
        doc.put("default_policy", options.defaultPolicy().orElse(null));
        doc.put("lrs", options.lrs());
        doc.put("seeds", options.seeds());
        doc.put("metric", metric);
        doc.put("wall_s", Math.round(wallSeconds * 10) / 10.0);
        doc.put("stable_lr_range", rangesJson(map.ranges()));
        doc.put("rows", results.stream().map(RunResult::toMap).toList());
        AtomicFiles.writeString(outDir.resolve("compare.json"), Json.pretty().writeValueAsString(doc) + "\n");
        AtomicFiles.writeString(outDir.resolve("compare.md"), markdown(results, options, metric, wallSeconds));
        map.savePng(outDir.resolve("compare-map.png"));
        chart(results, options, outDir);
    }

    /** Per policy {@code {low, high, ratio}}, or null when it is stable at no learning rate. */
    static Map<String, Object> rangesJson(Map<String, Optional<StableRange>> ranges) {
        Map<String, Object> out = new LinkedHashMap<>();
        ranges.forEach((policy, range) -> out.put(policy, range.map(r -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("low", r.low());
            m.put("high", r.high());
            m.put("ratio", r.ratio());
            return (Object) m;
        }).orElse(null)));
        return out;
    }

    /** The stability map, the aggregate per policy and learning rate, then one row per run. */
    public static String markdown(List<RunResult> results, CompareOptions options, String metric, double wallSeconds) {
        StringBuilder s = new StringBuilder("# Clipping comparison\n\n");
        s.append("Settings: ");
        options.train().forEach((k, v) -> s.append('`').append(k).append('=').append(v).append("` "));
        s.append(String.format(Locale.ROOT, "%n%n%d policies x %d learning rates x %d seeds = %d runs, %d at a time with one"
                + " thread each, %.0f s in all.", options.policies().size(), options.lrs().size(), options.seeds(),
                options.runs(), options.parallel(), wallSeconds));
        options.defaultPolicy().ifPresent(p -> s.append(" `").append(p).append("` is the default policy of `train`."));
        s.append("\n\n## Stability map\n\n").append(StabilityMap.of(results).markdown());
        s.append("\n![stability map](compare-map.png)\n\n## Per policy and learning rate\n\n");
        s.append("| policy | lr | success | collapsed | median ").append(metric).append(" | median clip rate |\n");
        s.append("|---|---:|---|---|---:|---:|\n");
        for (PolicySummary p : PolicySummary.summarize(results)) {
            s.append(String.format(Locale.ROOT, "| `%s` | %s | %d/%d | %d/%d%s | %s | %.1f%% |%n", p.policy(),
                    Comparison.lrText(p.lr()), p.successes(), p.runs(), p.collapses(), p.runs(),
                    p.crashes() > 0 ? " (" + p.crashes() + " crashed)" : "", p.medianMetricText(), 100 * p.medianClipRate()));
        }
        s.append("\nCollapsed: the loss or the weights became non-finite, or the loss ended above ")
                .append(Comparison.DIVERGENCE_FACTOR).append(" times the untrained model's loss. Success: the task's criterion"
                        + " on held-out data.\n\n");
        s.append("| policy | lr | seed | collapsed | success | ").append(metric)
                .append(" | steps | skipped | clip rate | wall s |\n");
        s.append("|---|---:|---:|---|---|---:|---:|---:|---:|---:|\n");
        for (RunResult r : results) {
            s.append(String.format(Locale.ROOT, "| `%s` | %s | %d | %s | %s | %.4g | %d | %d | %.1f%% | %.1f |%s%n", r.policy(),
                    Comparison.lrText(r.lr()), r.seed(), r.collapsed() ? "yes" : "no", r.success() ? "yes" : "no",
                    r.finalMetric(), r.steps(), r.skippedSteps(), 100 * r.clipRate(), r.wallSeconds(),
                    r.error().map(e -> " crashed: " + e + " |").orElse("")));
        }
        return s.toString();
    }

    /**
     * The curves, smoothed over the window the HTML report uses: loss and gradient norm at a single learning
     * rate, or the loss at each learning rate of a grid; a collapsed run is marked where it collapsed and does
     * not stretch the value axis.
     */
    private static void chart(List<RunResult> results, CompareOptions options, Path outDir) throws IOException {
        Map<RunResult, Comparison.Curves> curves = Comparison.curves(results, outDir);
        int steps = curves.values().stream().mapToInt(c -> c.steps().length).max().orElse(0);
        int window = RunMetrics.window(steps);
        List<CurveChart.Panel> panels = new ArrayList<>();
        for (double lr : options.lrs()) {
            List<CurveChart.Curve> loss = new ArrayList<>();
            List<CurveChart.Curve> norm = new ArrayList<>();
            curves.forEach((row, c) -> {
                if (row.lr() == lr) {
                    double collapse = row.collapsed() ? c.collapseStep() : Double.NaN;
                    loss.add(new CurveChart.Curve(row.policy(), c.steps(), CurveChart.smooth(c.loss(), window),
                            CurveChart.Style.LINE, collapse));
                    norm.add(new CurveChart.Curve(row.policy(), c.steps(), CurveChart.smooth(c.gradNorm(), window),
                            CurveChart.Style.LINE, collapse));
                }
            });
            if (options.lrs().size() == 1) {
                panels.add(new CurveChart.Panel("loss", true, loss));
                panels.add(new CurveChart.Panel("gradient norm", true, norm));
            } else {
                panels.add(new CurveChart.Panel("loss, lr " + Comparison.lrText(lr), true, loss));
            }
        }
        String title = (options.lrs().size() == 1 ? "Training loss and pre-clip gradient norm" : "Training loss")
                + " per policy (" + options.seeds() + " seeds, moving average of " + window + " steps)";
        int height = options.lrs().size() == 1 ? 800 : 220 + 200 * options.lrs().size();
        CurveChart.savePng(CurveChart.build(title, panels), outDir.resolve("compare.png"), 1100, height);
    }
}
