package dev.gradguard.report;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.stream.Stream;

/**
 * The report of a {@code compare} directory: the policies' curves overlaid (one colour per policy, every
 * seed drawn), the aggregated table of {@link PolicySummary#summarize}, one row per run, and the shared
 * settings.
 */
public final class ComparisonPage {
    private ComparisonPage() {
    }

    /** One run's curves, labelled with its policy. */
    private record Run(String policy, RunMetrics metrics) {
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
        List<RunResult> rows = new ArrayList<>();
        rowsNode.forEach(r -> rows.add(runResult(r)));
        String metric = doc.path("metric").asText("metric");
        List<Run> runs = readRuns(dir.resolve("runs"));

        List<ReportPage.Section> sections = new ArrayList<>();
        sections.add(new ReportPage.Section("summary", "Results per policy", Optional.empty(), aggregateHtml(rows, metric)));
        if (!runs.isEmpty()) {
            int steps = runs.stream().mapToInt(r -> r.metrics().size()).max().orElse(0);
            int window = RunMetrics.window(steps);
            sections.add(figureSection("loss", "Loss", "Training loss per policy (moving average of " + window + " steps)",
                    List.of(panel("loss (log scale)", true, runs, m -> CurveChart.smooth(m.loss(), window)))));
            sections.add(figureSection("grad-norm", "Gradient norm",
                    "Gradient 2-norm before and after clipping per policy (moving average of " + window + " steps)",
                    List.of(panel("pre-clip norm (log)", true, runs, m -> CurveChart.smooth(m.gradNorm(), window)),
                            panel("post-clip norm (log)", true, runs, m -> CurveChart.smooth(m.gradNormClipped(), window)))));
            sections.add(figureSection("clip-rate", "Clip rate",
                    "Clip rate over the last " + RunMetrics.CLIP_RATE_WINDOW + " steps per policy",
                    List.of(panel("fraction clipped", false, runs, m -> m.clipRate(RunMetrics.CLIP_RATE_WINDOW)))));
            sections.add(figureSection("lr", "Learning rate", "Learning rate per policy",
                    List.of(panel("learning rate", false, runs, RunMetrics::lr))));
        }
        sections.add(new ReportPage.Section("runs", "Runs", Optional.empty(), runsHtml(rows, metric)));
        sections.add(new ReportPage.Section("config", "Settings", Optional.empty(), RunReport.settingsTable(doc.path("settings"))));

        String subtitle = Html.escape(String.format(Locale.ROOT, "%d policies x %d seeds, %s s in all",
                doc.path("policies").size(), doc.path("seeds").asInt(), Html.number(doc.path("wall_s").asDouble())));
        return new ReportPage("gradguard comparison " + dir.toAbsolutePath().normalize().getFileName(), subtitle, sections);
    }

    private static RunResult runResult(JsonNode r) {
        return new RunResult(r.path("policy").asText(), r.path("seed").asLong(), r.path("collapsed").asBoolean(),
                r.path("success").asBoolean(), MetricsRow.number(r.get("final_metric")), r.path("steps").asLong(),
                r.path("skipped_steps").asLong(), MetricsRow.number(r.get("clip_rate")), r.path("wall_s").asDouble(),
                r.hasNonNull("error") ? Optional.of(r.get("error").asText()) : Optional.empty());
    }

    /**
     * The runs under {@code runs/} that have metrics, by directory name; the policy comes from each run's
     * {@code summary.json} configuration, or from the directory name when it has none.
     */
    private static List<Run> readRuns(Path runsDir) throws IOException {
        if (!Files.isDirectory(runsDir)) {
            return List.of();
        }
        List<Path> dirs;
        try (Stream<Path> list = Files.list(runsDir)) {
            dirs = list.filter(p -> Files.isRegularFile(p.resolve("metrics.jsonl"))).sorted().toList();
        }
        List<Run> runs = new ArrayList<>();
        for (Path d : dirs) {
            String name = d.getFileName().toString();
            Optional<JsonNode> summary = RunReport.readSummary(d);
            String policy = summary.map(s -> s.path("config").path("clip").asText(null))
                    .orElse(name.replaceFirst("-seed\\d+$", ""));
            runs.add(new Run(policy, RunMetrics.read(d.resolve("metrics.jsonl"))));
        }
        return runs;
    }

    private static CurveChart.Panel panel(String label, boolean log, List<Run> runs,
            Function<RunMetrics, double[]> values) {
        List<CurveChart.Curve> curves = new ArrayList<>();
        for (Run r : runs) {
            curves.add(CurveChart.decimate(new CurveChart.Curve(r.policy(), r.metrics().steps(), values.apply(r.metrics())),
                    RunReport.BUCKETS / 2));
        }
        return new CurveChart.Panel(label, log, curves);
    }

    private static ReportPage.Section figureSection(String name, String heading, String title, List<CurveChart.Panel> panels) {
        int height = panels.size() == 1 ? RunReport.HEIGHT : RunReport.HEIGHT + 220;
        Figure f = new Figure(name, CurveChart.build(title, panels), RunReport.WIDTH, height);
        return new ReportPage.Section(name, heading, Optional.of(f),
                RunReport.caption("One colour per policy; every seed is drawn."));
    }

    private static String aggregateHtml(List<RunResult> rows, String metric) {
        List<List<String>> table = new ArrayList<>();
        for (PolicySummary p : PolicySummary.summarize(rows)) {
            table.add(List.of("<code>" + Html.escape(p.policy()) + "</code>", p.successes() + "/" + p.runs(),
                    p.collapses() + "/" + p.runs() + (p.crashes() > 0 ? " (" + p.crashes() + " crashed)" : ""),
                    Html.number(p.medianMetric()), String.format(Locale.ROOT, "%.1f%%", 100 * p.medianClipRate())));
        }
        return Html.table(List.of("policy", "success", "collapsed", "median " + Html.escape(metric), "median clip rate"), table)
                + RunReport.caption("Collapsed: the loss or the weights became non-finite, or the loss diverged."
                        + " Success: the task's criterion on held-out data.");
    }

    private static String runsHtml(List<RunResult> rows, String metric) {
        List<List<String>> table = new ArrayList<>();
        for (RunResult r : rows) {
            table.add(List.of("<code>" + Html.escape(r.policy()) + "</code>", Long.toString(r.seed()),
                    r.collapsed() ? "<span class=\"bad\">yes</span>" : "no",
                    r.success() ? "<span class=\"good\">yes</span>" : "no", Html.number(r.finalMetric()),
                    Long.toString(r.steps()), Long.toString(r.skippedSteps()),
                    String.format(Locale.ROOT, "%.1f%%", 100 * r.clipRate()), Html.number(r.wallSeconds()),
                    r.error().map(Html::escape).orElse("")));
        }
        return Html.table(List.of("policy", "seed", "collapsed", "success", Html.escape(metric), "steps", "skipped",
                "clip rate", "wall s", "error"), table);
    }
}
