package dev.gradguard.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.stream.Collectors;

/**
 * The report of one {@code train} run directory: loss; pre- and post-clip gradient norms with the clip
 * threshold; the clip rate over a moving window; the learning rate; skipped and non-finite steps marked on
 * the curves and listed; a heat map of per-layer gradient norms from the TensorBoard event files; and the
 * run's summary and configuration.
 */
public final class RunReport {
    static final int WIDTH = 1100;
    static final int HEIGHT = 360;
    /** Curves longer than twice this are thinned for drawing ({@link CurveChart#decimate}). */
    static final int BUCKETS = 1500;
    static final String NONFINITE_MARKER = "non-finite step (skipped)";
    static final String SKIPPED_MARKER = "skipped step (finite)";
    /** Steps listed by number in the text; more are counted. */
    private static final int LISTED_STEPS = 200;
    /** The summary fields shown, in order, with their labels. */
    private static final List<String[]> SUMMARY_FIELDS = List.of(
            new String[] {"task", "task"}, new String[] {"model", "model"}, new String[] {"device", "device"},
            new String[] {"precision", "precision"}, new String[] {"steps", "steps"},
            new String[] {"final_loss", "final loss"}, new String[] {"metric", "metric"},
            new String[] {"metric_value", "metric value"}, new String[] {"baseline_value", "baseline"},
            new String[] {"criterion", "success when"}, new String[] {"learned", "learned"},
            new String[] {"skipped_steps", "skipped steps"}, new String[] {"nonfinite_steps", "non-finite steps"},
            new String[] {"clipped_steps", "clipped steps"}, new String[] {"clip_rate", "clip rate"},
            new String[] {"lr_scale", "LR scale (controller)"}, new String[] {"params_finite", "parameters finite"},
            new String[] {"param_checksum", "parameter checksum"}, new String[] {"param_count", "parameters"},
            new String[] {"completed", "completed"}, new String[] {"stop_reason", "stop reason"},
            new String[] {"wall_s", "wall time (s)"}, new String[] {"train_s", "training time (s)"},
            new String[] {"libtorch", "libtorch"});

    private RunReport() {
    }

    /**
     * Builds the page of the run in {@code dir}.
     *
     * @throws IllegalArgumentException when {@code dir} has no {@code metrics.jsonl} or a malformed one
     * @throws IOException when a file cannot be read
     */
    public static ReportPage build(Path dir) throws IOException {
        Path metricsFile = dir.resolve("metrics.jsonl");
        if (!Files.exists(metricsFile)) {
            throw new IllegalArgumentException(dir + " is not a run directory: it has no metrics.jsonl");
        }
        RunMetrics metrics = RunMetrics.read(metricsFile);
        Optional<JsonNode> summary = readSummary(dir);
        String clip = summary.map(s -> s.path("config").path("clip").asText("")).orElse("");
        OptionalDouble threshold = clip.isEmpty() ? OptionalDouble.empty() : ClipThreshold.of(clip);
        LayerNorms layers = LayerNorms.read(eventDirectory(dir, summary));

        List<ReportPage.Section> sections = new ArrayList<>();
        sections.add(new ReportPage.Section("summary", "Summary", Optional.empty(), summaryHtml(summary, metrics)));
        if (metrics.size() > 0) {
            List<CurveChart.Marker> markers = markers(metrics);
            sections.add(lossSection(metrics, markers));
            sections.add(gradNormSection(metrics, markers, clip, threshold));
            sections.add(clipRateSection(metrics));
            sections.add(lrSection(metrics));
        }
        sections.add(new ReportPage.Section("skipped", "Skipped steps", Optional.empty(), skippedHtml(metrics)));
        sections.add(layerSection(layers));
        summary.ifPresent(s -> sections.add(new ReportPage.Section("config", "Configuration", Optional.empty(),
                settingsTable(s.path("config")))));

        String subtitle = summary.map(s -> Html.escape(s.path("task").asText("?") + " / " + s.path("model").asText("?"))
                        + ", " + s.path("steps").asLong() + " steps, " + verdict(s))
                .orElse("unfinished: " + metrics.size() + " steps so far, no summary.json yet");
        return new ReportPage("gradguard run " + dir.toAbsolutePath().normalize().getFileName(), subtitle, sections);
    }

    /** {@code summary.json}, when the run has one. */
    static Optional<JsonNode> readSummary(Path dir) throws IOException {
        Path file = dir.resolve("summary.json");
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        return Optional.of(SmallJson.read(file));
    }

    /** "learned" or "did not learn", in colour. */
    static String verdict(JsonNode summary) {
        return summary.path("learned").asBoolean()
                ? "<span class=\"good\">learned</span>"
                : "<span class=\"bad\">did not learn</span>";
    }

    /** Where the event files are: the configured {@code tensorboard} directory when it exists, else the run's. */
    private static Path eventDirectory(Path dir, Optional<JsonNode> summary) {
        String configured = summary.map(s -> s.path("config").path("tensorboard").asText("")).orElse("");
        if (!configured.isEmpty() && Files.isDirectory(Path.of(configured))) {
            return Path.of(configured);
        }
        return dir;
    }

    static List<CurveChart.Marker> markers(RunMetrics metrics) {
        List<CurveChart.Marker> markers = new ArrayList<>();
        metrics.nonFiniteSteps().forEach(s -> markers.add(new CurveChart.Marker(s, NONFINITE_MARKER)));
        metrics.otherSkippedSteps().forEach(s -> markers.add(new CurveChart.Marker(s, SKIPPED_MARKER)));
        return markers;
    }

    private static ReportPage.Section lossSection(RunMetrics m, List<CurveChart.Marker> markers) {
        boolean log = Arrays.stream(m.loss()).filter(Double::isFinite).allMatch(v -> v > 0);
        CurveChart.Curve loss = CurveChart.decimate(new CurveChart.Curve("training loss", m.steps(), m.loss()), BUCKETS);
        Figure f = new Figure("loss", CurveChart.build("Training loss", List.of(
                new CurveChart.Panel(log ? "loss (log scale)" : "loss", log, List.of(loss))), markers), WIDTH, HEIGHT);
        return new ReportPage.Section("loss", "Loss", Optional.of(f), caption(
                "The training loss of every step" + (log ? ", on a log scale" : "") + markerNote(markers) + "."));
    }

    private static ReportPage.Section gradNormSection(RunMetrics m, List<CurveChart.Marker> markers, String clip,
            OptionalDouble threshold) {
        List<CurveChart.Curve> curves = new ArrayList<>();
        // wide and pale under the thin post-clip line: on steps that were not clipped the two are equal
        curves.add(CurveChart.decimate(new CurveChart.Curve("pre-clip norm", m.steps(), m.gradNorm(),
                CurveChart.Style.WIDE), BUCKETS));
        curves.add(CurveChart.decimate(new CurveChart.Curve("post-clip norm", m.steps(), m.gradNormClipped()), BUCKETS));
        threshold.ifPresent(t -> curves.add(CurveChart.decimate(new CurveChart.Curve("clip threshold", m.steps(),
                m.threshold(t), CurveChart.Style.DASHED), BUCKETS)));
        Figure f = new Figure("grad-norm", CurveChart.build("Gradient 2-norm before and after clipping", List.of(
                new CurveChart.Panel("gradient norm (log scale)", true, curves)), markers), WIDTH, HEIGHT);
        String thresholdText = threshold.isPresent()
                ? "The dashed line is the clip threshold of <code>" + Html.escape(clip) + "</code>"
                        + " (raised where a controller relaxed it)."
                : clip.isEmpty() ? "The clip policy is unknown until the run writes summary.json."
                : "<code>" + Html.escape(clip) + "</code> has no fixed 2-norm threshold to draw.";
        return new ReportPage.Section("grad-norm", "Gradient norm", Optional.of(f), caption(
                "The total gradient 2-norm before (wide, pale line) and after (thin line) the gradient pipeline, on a"
                        + " log scale; where the pipeline left a step's gradients alone the thin line runs inside the"
                        + " wide one. Non-finite norms are left out" + markerNote(markers) + ". " + thresholdText));
    }

    private static ReportPage.Section clipRateSection(RunMetrics m) {
        int window = RunMetrics.CLIP_RATE_WINDOW;
        double[] rate = m.clipRate(window);
        CurveChart.Curve c = CurveChart.decimate(new CurveChart.Curve("clip rate", m.steps(), rate), BUCKETS);
        Figure f = new Figure("clip-rate", CurveChart.build("Clip rate over the last " + window + " steps", List.of(
                new CurveChart.Panel("fraction clipped", false, List.of(c)))), WIDTH, HEIGHT - 60);
        long clipped = m.rows().stream().filter(MetricsRow::clipped).count();
        return new ReportPage.Section("clip-rate", "Clip rate", Optional.of(f), caption(String.format(
                java.util.Locale.ROOT, "The fraction of steps whose gradients the pipeline changed, over a moving window"
                        + " of %d steps; %d of %d steps in all (%.1f%%).", window, clipped, m.size(),
                100.0 * clipped / m.size())));
    }

    private static ReportPage.Section lrSection(RunMetrics m) {
        CurveChart.Curve c = CurveChart.decimate(new CurveChart.Curve("learning rate", m.steps(), m.lr()), BUCKETS);
        Figure f = new Figure("lr", CurveChart.build("Learning rate", List.of(
                new CurveChart.Panel("learning rate", false, List.of(c)))), WIDTH, HEIGHT - 60);
        return new ReportPage.Section("lr", "Learning rate", Optional.of(f),
                caption("The learning rate of each step's update, after the schedule and any controller."));
    }

    private static ReportPage.Section layerSection(LayerNorms layers) {
        if (layers.isEmpty()) {
            return new ReportPage.Section("layers", "Per-layer gradient norms", Optional.empty(), caption(
                    "No per-parameter gradient norms in the event files (train with <code>--grad-norm-every N</code>)."));
        }
        Figure f = new Figure("layer-norms", HeatMapChart.build("Gradient 2-norm per parameter (log colour scale)",
                layers), WIDTH, HeatMapChart.height(layers));
        List<List<String>> rows = new ArrayList<>();
        for (int l = 0; l < layers.layers().size(); l++) {
            double[] v = layers.norms()[l];
            double[] finite = Arrays.stream(v).filter(Double::isFinite).toArray();
            long nonFinite = Arrays.stream(v).filter(Double::isInfinite).count();
            rows.add(List.of("<code>" + Html.escape(layers.layers().get(l)) + "</code>",
                    finite.length == 0 ? "-" : Html.number(finite[0]),
                    finite.length == 0 ? "-" : Html.number(finite[finite.length - 1]),
                    finite.length == 0 ? "-" : Html.number(Arrays.stream(finite).max().getAsDouble()),
                    Long.toString(nonFinite)));
        }
        return new ReportPage.Section("layers", "Per-layer gradient norms", Optional.of(f), caption(
                "The pre-clip gradient 2-norm of each parameter at the " + layers.steps().length
                        + " steps the event files record (<code>grad_norm/&lt;parameter&gt;</code>); red cells are"
                        + " non-finite.")
                + Html.table(List.of("parameter", "first", "last", "max", "non-finite"), rows));
    }

    private static String summaryHtml(Optional<JsonNode> summary, RunMetrics metrics) {
        if (summary.isEmpty()) {
            return caption("No summary.json: the run has not finished, or stopped without one. " + metrics.size()
                    + " steps in metrics.jsonl.");
        }
        JsonNode s = summary.get();
        List<List<String>> rows = new ArrayList<>();
        for (String[] field : SUMMARY_FIELDS) {
            // the precision is a setting: the summary repeats it in its config
            JsonNode v = s.has(field[0]) ? s.get(field[0]) : s.path("config").get(field[0]);
            if (v != null && !v.isNull()) {
                String text = field[0].equals("learned") ? verdict(s)
                        : field[0].equals("clip_rate") ? percent(v.asDouble())
                        : field[0].equals("param_checksum") ? "<code>" + Html.escape(v.asText()) + "</code>"
                        : v.isNumber() ? Html.number(v.asDouble()) : Html.escape(v.asText());
                rows.add(List.of(field[1], text));
            }
        }
        return Html.table(List.of("field", "value"), rows);
    }

    /** A fraction in percent, one decimal, as the console prints it: {@code 12.3%}. */
    static String percent(double fraction) {
        return String.format(java.util.Locale.ROOT, "%.1f%%", 100 * fraction);
    }

    /** A two-column table of a JSON object's fields; nested values as JSON. */
    static String settingsTable(JsonNode config) {
        List<List<String>> rows = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = config.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String value = e.getValue().isValueNode() ? e.getValue().asText() : e.getValue().toString();
            rows.add(List.of("<code>" + Html.escape(e.getKey()) + "</code>", "<code>" + Html.escape(value) + "</code>"));
        }
        return Html.table(List.of("setting", "value"), rows);
    }

    private static String skippedHtml(RunMetrics m) {
        List<MetricsRow> skipped = m.rows().stream().filter(MetricsRow::skipped).toList();
        if (skipped.isEmpty()) {
            return caption("No step was skipped.");
        }
        String listed = skipped.stream().limit(LISTED_STEPS)
                .map(r -> "<li><span class=\"mono\">step " + r.step() + "</span>: "
                        + (r.nonFinite() ? "non-finite" : "finite") + r.skipReason().map(x -> ", " + Html.escape(x)).orElse("")
                        + "</li>")
                .collect(Collectors.joining("\n"));
        String more = skipped.size() > LISTED_STEPS ? "<li>... and " + (skipped.size() - LISTED_STEPS) + " more</li>" : "";
        return caption(skipped.size() + " step(s) skipped, " + m.nonFiniteSteps().size() + " of them non-finite"
                + " (their updates were not applied):") + "<ul id=\"skipped-steps\">\n" + listed + more + "\n</ul>\n";
    }

    private static String markerNote(List<CurveChart.Marker> markers) {
        return markers.isEmpty() ? "" : "; vertical lines mark skipped steps (see the legend)";
    }

    static String caption(String html) {
        return "<p class=\"caption\">" + html + "</p>\n";
    }
}
