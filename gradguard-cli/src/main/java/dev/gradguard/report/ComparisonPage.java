package dev.gradguard.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.compare.Comparison;
import dev.gradguard.compare.PolicySummary;
import dev.gradguard.compare.RunResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * The report of a {@code compare} directory: the {@link StabilityMap}, the aggregated table of
 * {@link PolicySummary#summarize}, the policies' curves overlaid (one colour per policy, every seed drawn, one
 * panel per learning rate), one row per run, and the shared settings.
 */
public final class ComparisonPage {
    private ComparisonPage() {
    }

    /** One run's row and curves. */
    private record Run(RunResult row, RunMetrics metrics) {
    }

    /**
     * Builds the page of the comparison in {@code dir}.
     *
     * @throws IllegalArgumentException when {@code dir} has no {@code compare.json}, or a malformed one
     * @throws IOException when a file cannot be read
     */
    public static ReportPage build(Path dir) throws IOException {
        Path file = dir.resolve("compare.json");
        if (!Files.exists(file)) {
            throw new IllegalArgumentException(dir + " is not a compare directory: it has no compare.json");
        }
        JsonNode doc = SmallJson.read(file);
        JsonNode rowsNode = doc.path("rows");
        if (!rowsNode.isArray()) {
            throw new IllegalArgumentException(file + " has no 'rows' array");
        }
        // rows written before learning-rate grids carry no lr: theirs is the shared settings' one
        double sharedLr = doc.path("settings").path("lr").asDouble(Double.NaN);
        List<RunResult> rows = new ArrayList<>();
        rowsNode.forEach(r -> rows.add(runResult(r, sharedLr)));
        String metric = doc.path("metric").asText("metric");
        List<Run> runs = readRuns(dir.resolve("runs"), rows);
        List<Double> lrs = rows.stream().map(RunResult::lr).distinct().sorted().toList();

        List<ReportPage.Section> sections = new ArrayList<>();
        sections.add(new ReportPage.Section("map", "Stability map", Optional.empty(), StabilityMap.of(rows).html()));
        sections.add(new ReportPage.Section("summary", "Results per policy and learning rate", Optional.empty(),
                aggregateHtml(rows, metric)));
        if (!runs.isEmpty()) {
            int steps = runs.stream().mapToInt(r -> r.metrics().size()).max().orElse(0);
            int window = RunMetrics.window(steps);
            sections.add(figureSection("loss", "Loss", "Training loss per policy (moving average of " + window + " steps)",
                    panels("loss (log scale)", true, runs, lrs, m -> CurveChart.smooth(m.loss(), window))));
            List<CurveChart.Panel> norms = new ArrayList<>(
                    panels("pre-clip norm (log)", true, runs, lrs, m -> CurveChart.smooth(m.gradNorm(), window)));
            if (lrs.size() == 1) {
                norms.addAll(panels("post-clip norm (log)", true, runs, lrs, m -> CurveChart.smooth(m.gradNormClipped(), window)));
            }
            sections.add(figureSection("grad-norm", "Gradient norm", (lrs.size() == 1
                    ? "Gradient 2-norm before and after clipping" : "Gradient 2-norm before clipping")
                    + " per policy (moving average of " + window + " steps)", norms));
            sections.add(figureSection("clip-rate", "Clip rate",
                    "Clip rate over the last " + RunMetrics.CLIP_RATE_WINDOW + " steps per policy",
                    panels("fraction clipped", false, runs, lrs, m -> m.clipRate(RunMetrics.CLIP_RATE_WINDOW))));
            sections.add(figureSection("lr", "Learning rate", "Learning rate per policy",
                    panels("learning rate", false, runs, lrs, RunMetrics::lr)));
        }
        sections.add(new ReportPage.Section("runs", "Runs", Optional.empty(), runsHtml(rows, metric)));
        sections.add(new ReportPage.Section("config", "Settings", Optional.empty(), RunReport.settingsTable(doc.path("settings"))));

        String subtitle = Html.escape(String.format(Locale.ROOT, "%d policies x %d learning rates x %d seeds, %s s in all",
                doc.path("policies").size(), lrs.size(), doc.path("seeds").asInt(), Html.number(doc.path("wall_s").asDouble()))
                + (doc.hasNonNull("default_policy") ? "; " + doc.get("default_policy").asText() + " is train's default policy" : ""));
        return new ReportPage("gradguard comparison " + dir.toAbsolutePath().normalize().getFileName(), subtitle, sections);
    }

    private static RunResult runResult(JsonNode r, double sharedLr) {
        return new RunResult(r.path("policy").asText(), r.path("seed").asLong(),
                r.has("lr") ? MetricsRow.number(r.get("lr")) : sharedLr, r.path("collapsed").asBoolean(),
                r.path("success").asBoolean(), MetricsRow.number(r.get("final_metric")), r.path("steps").asLong(),
                r.path("skipped_steps").asLong(), MetricsRow.number(r.get("clip_rate")), r.path("wall_s").asDouble(),
                r.hasNonNull("error") ? Optional.of(r.get("error").asText()) : Optional.empty());
    }

    /**
     * The runs of the rows that have metrics under {@code runs/}: {@code <policy>-lr<lr>-seed<k>}, or
     * {@code <policy>-seed<k>} in comparisons written before learning-rate grids.
     */
    private static List<Run> readRuns(Path runsDir, List<RunResult> rows) throws IOException {
        List<Run> runs = new ArrayList<>();
        for (RunResult r : rows) {
            for (String name : List.of(Comparison.runName(r.policy(), r.lr(), r.seed()),
                    Comparison.slug(r.policy()) + "-seed" + r.seed())) {
                Path metrics = runsDir.resolve(name).resolve("metrics.jsonl");
                if (Files.isRegularFile(metrics)) {
                    runs.add(new Run(r, RunMetrics.read(metrics)));
                    break;
                }
            }
        }
        return runs;
    }

    /** One panel per learning rate (a single one, unlabelled, when the grid has one), a curve per run. */
    private static List<CurveChart.Panel> panels(String label, boolean log, List<Run> runs, List<Double> lrs,
            Function<RunMetrics, double[]> values) {
        List<CurveChart.Panel> panels = new ArrayList<>();
        for (double lr : lrs) {
            List<CurveChart.Curve> curves = new ArrayList<>();
            for (Run r : runs) {
                if (Double.compare(r.row().lr(), lr) == 0) {
                    RunMetrics m = r.metrics();
                    double collapse = r.row().collapsed() ? Comparison.collapseStep(m.steps(), m.loss()) : Double.NaN;
                    curves.add(CurveChart.decimate(new CurveChart.Curve(r.row().policy(), m.steps(), values.apply(m),
                            CurveChart.Style.LINE, collapse), RunReport.BUCKETS / 2));
                }
            }
            panels.add(new CurveChart.Panel(lrs.size() == 1 ? label : label + ", lr " + Comparison.lrText(lr), log, curves));
        }
        return panels;
    }

    private static ReportPage.Section figureSection(String name, String heading, String title, List<CurveChart.Panel> panels) {
        int height = RunReport.HEIGHT + 220 * (panels.size() - 1);
        Figure f = new Figure(name, CurveChart.build(title, panels), RunReport.WIDTH, height);
        return new ReportPage.Section(name, heading, Optional.of(f),
                RunReport.caption("One colour per policy; every seed is drawn, each policy's lines narrower than the one"
                        + " before so that coinciding curves stay visible. A cross marks the step at which a run collapsed;"
                        + " the value axis spans the runs that did not."));
    }

    private static String aggregateHtml(List<RunResult> rows, String metric) {
        List<List<String>> table = new ArrayList<>();
        for (PolicySummary p : PolicySummary.summarize(rows)) {
            table.add(List.of("<code>" + Html.escape(p.policy()) + "</code>", Comparison.lrText(p.lr()),
                    p.successes() + "/" + p.runs(),
                    p.collapses() + "/" + p.runs() + (p.crashes() > 0 ? " (" + p.crashes() + " crashed)" : ""),
                    Html.escape(p.medianMetricText()), String.format(Locale.ROOT, "%.1f%%", 100 * p.medianClipRate())));
        }
        return Html.table(List.of("policy", "lr", "success", "collapsed", "median " + Html.escape(metric), "median clip rate"),
                table)
                + RunReport.caption("Collapsed: the loss or the weights became non-finite, or the loss diverged."
                        + " Success: the task's criterion on held-out data.");
    }

    private static String runsHtml(List<RunResult> rows, String metric) {
        List<List<String>> table = new ArrayList<>();
        for (RunResult r : rows) {
            table.add(List.of("<code>" + Html.escape(r.policy()) + "</code>", Comparison.lrText(r.lr()), Long.toString(r.seed()),
                    r.collapsed() ? "<span class=\"bad\">yes</span>" : "no",
                    r.success() ? "<span class=\"good\">yes</span>" : "no", Html.number(r.finalMetric()),
                    Long.toString(r.steps()), Long.toString(r.skippedSteps()),
                    String.format(Locale.ROOT, "%.1f%%", 100 * r.clipRate()), Html.number(r.wallSeconds()),
                    r.error().map(Html::escape).orElse("")));
        }
        return Html.table(List.of("policy", "lr", "seed", "collapsed", "success", Html.escape(metric), "steps", "skipped",
                "clip rate", "wall s", "error"), table);
    }
}
