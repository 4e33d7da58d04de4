package dev.gradguard.report;

import dev.gradguard.compare.CompareOptions;
import dev.gradguard.compare.Comparison;
import dev.gradguard.compare.PolicySummary;
import dev.gradguard.compare.RunResult;
import dev.gradguard.metrics.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Writes a comparison's {@code compare.json}, {@code compare.md} and {@code compare.png}. */
public final class ComparisonFiles {
    private static final int SMOOTHING = 20;

    private ComparisonFiles() {
    }

    /** Writes the three files into {@code outDir}. */
    public static void write(List<RunResult> results, CompareOptions options, String metric, Path outDir, double wallSeconds)
            throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("settings", options.train());
        doc.put("policies", options.policies());
        doc.put("seeds", options.seeds());
        doc.put("metric", metric);
        doc.put("wall_s", Math.round(wallSeconds * 10) / 10.0);
        doc.put("rows", results.stream().map(RunResult::toMap).toList());
        Files.writeString(outDir.resolve("compare.json"), Json.pretty().writeValueAsString(doc) + "\n");
        Files.writeString(outDir.resolve("compare.md"), markdown(results, options, metric, wallSeconds));
        chart(results, options, outDir);
    }

    /** The aggregated table, then one row per run. */
    public static String markdown(List<RunResult> results, CompareOptions options, String metric, double wallSeconds) {
        StringBuilder s = new StringBuilder("# Clipping comparison\n\n");
        s.append("Settings: ");
        options.train().forEach((k, v) -> s.append('`').append(k).append('=').append(v).append("` "));
        s.append(String.format(Locale.ROOT, "%n%n%d policies x %d seeds, %d at a time with one thread each, %.0f s in all.%n%n",
                options.policies().size(), options.seeds(), options.parallel(), wallSeconds));
        s.append("| policy | success | collapsed | median ").append(metric).append(" | median clip rate |\n");
        s.append("|---|---|---|---:|---:|\n");
        for (PolicySummary p : PolicySummary.summarize(results)) {
            s.append(String.format(Locale.ROOT, "| `%s` | %d/%d | %d/%d%s | %.4g | %.1f%% |%n", p.policy(), p.successes(), p.runs(),
                    p.collapses(), p.runs(), p.crashes() > 0 ? " (" + p.crashes() + " crashed)" : "", p.medianMetric(),
                    100 * p.medianClipRate()));
        }
        s.append("\nCollapsed: the loss or the weights became non-finite, or the loss ended above ")
                .append(Comparison.DIVERGENCE_FACTOR).append(" times the untrained model's loss. Success: the task's criterion on held-out data.\n\n");
        s.append("| policy | seed | collapsed | success | ").append(metric).append(" | steps | skipped | clip rate | wall s |\n");
        s.append("|---|---:|---|---|---:|---:|---:|---:|---:|\n");
        for (RunResult r : results) {
            s.append(String.format(Locale.ROOT, "| `%s` | %d | %s | %s | %.4g | %d | %d | %.1f%% | %.1f |%s%n", r.policy(), r.seed(),
                    r.collapsed() ? "yes" : "no", r.success() ? "yes" : "no", r.finalMetric(), r.steps(), r.skippedSteps(),
                    100 * r.clipRate(), r.wallSeconds(), r.error().map(e -> " crashed: " + e + " |").orElse("")));
        }
        return s.toString();
    }

    private static void chart(List<RunResult> results, CompareOptions options, Path outDir) throws IOException {
        List<CurveChart.Curve> loss = new ArrayList<>();
        List<CurveChart.Curve> norm = new ArrayList<>();
        Comparison.curves(results, outDir).forEach((policy, runs) -> {
            for (Comparison.Curves c : runs) {
                loss.add(new CurveChart.Curve(policy, c.steps(), CurveChart.smooth(c.loss(), SMOOTHING)));
                norm.add(new CurveChart.Curve(policy, c.steps(), CurveChart.smooth(c.gradNorm(), SMOOTHING)));
            }
        });
        String title = "Training loss and pre-clip gradient norm per policy (" + options.seeds() + " seeds, moving average of "
                + SMOOTHING + " steps)";
        CurveChart.savePng(CurveChart.build(title, List.of(new CurveChart.Panel("loss", true, loss),
                new CurveChart.Panel("gradient norm", true, norm))), outDir.resolve("compare.png"), 1100, 800);
    }
}
