package dev.gradguard.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.cli.ExitCodes;
import dev.gradguard.cli.Main;
import dev.gradguard.metrics.Json;
import dev.gradguard.testing.ConsoleCapture;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class HtmlReportTest {
    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @Test
    void theSummaryNamesTheDeviceAndThePrecision() throws IOException {
        Path run = SyntheticRun.write(tmp.resolve("run"), 20, "norm:1.0");
        Files.writeString(run.resolve("summary.json"), Files.readString(run.resolve("summary.json"))
                .replaceFirst("\\{", "{\"device\": \"cuda:0\", ").replace("\"lr\"", "\"precision\": \"bf16\", \"lr\""));
        String html = HtmlReport.render(HtmlReport.build(run));
        assertTrue(html.contains("<td>device</td><td>cuda:0</td>"), "the device the run trained on");
        assertTrue(html.contains("<td>precision</td><td>bf16</td>"), "the precision, from the run's config");
    }

    @Test
    void aRunReportHasEverySectionTheSkippedStepsTheLayersAndNoExternalReference() throws IOException {
        Path run = SyntheticRun.write(tmp.resolve("run"), 60, "norm:1.0");
        HtmlReport.Written written = HtmlReport.write(run, HtmlReport.defaultFile(run));
        assertEquals(run.resolve("report.html"), written.html());
        String html = Files.readString(written.html());

        for (String id : List.of("summary", "loss", "grad-norm", "clip-rate", "lr", "skipped", "layers", "config")) {
            assertTrue(html.contains("<section id=\"" + id + "\">"), id);
        }
        for (long step : List.of(20L, 21L)) {
            assertTrue(html.contains("step " + step + "</span>: non-finite"), "non-finite step " + step);
        }
        assertTrue(html.contains("step 40</span>: finite, gradient spike"), "finite skipped step");
        assertTrue(html.contains("3 step(s) skipped, 2 of them non-finite"));
        for (String layer : SyntheticRun.LAYERS) {
            assertTrue(html.contains(">" + layer + "<"), "heat map layer " + layer);
        }
        assertFalse(html.contains("per_parameter"), "the histogram is not a layer");
        assertTrue(html.contains(SyntheticRun.CHECKSUM), "summary table");
        // 7 clipped steps of 60, in percent as the console prints it; the window named on the chart
        assertTrue(html.contains("<td>clip rate</td><td class=\"num\">11.7%</td>"), "clip rate in percent");
        assertTrue(html.contains("Clip rate over the last " + RunMetrics.CLIP_RATE_WINDOW + " steps"), "window named");
        assertTrue(html.contains("clip threshold") && html.contains("<code>norm:1.0</code>"), "threshold drawn");
        assertTrue(html.contains("non-finite step (skipped)"), "marker legend");
        assertEquals(5, count(html, "<svg "), "four line charts and the heat map, all inline SVG");
        assertEquals(1, count(html, "<svg id='figure-layer-norms'"));
        assertSelfContained(html);

        List<String> pngs = new ArrayList<>();
        for (Path png : written.images()) {
            pngs.add(png.getFileName().toString());
            BufferedImage image = ImageIO.read(png.toFile());
            assertNotNull(image, png + " decodes");
            assertEquals(RunReport.WIDTH, image.getWidth());
        }
        assertEquals(List.of("report-loss.png", "report-grad-norm.png", "report-clip-rate.png", "report-lr.png",
                "report-layer-norms.png"), pngs);
    }

    @Test
    void aCompareDirectoryOverlaysThePoliciesAndShowsTheAggregatedTable() throws IOException {
        Path dir = tmp.resolve("cmp");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (String policy : List.of("none", "norm:1.0")) {
            for (int seed = 0; seed < 2; seed++) {
                SyntheticRun.write(dir.resolve("runs").resolve(dev.gradguard.compare.Comparison.runName(policy, 0.5, seed)), 50,
                        policy);
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("policy", policy);
                r.put("seed", seed);
                r.put("lr", 0.5);
                r.put("collapsed", policy.equals("none"));
                r.put("success", !policy.equals("none"));
                r.put("final_metric", policy.equals("none") ? "Infinity" : 0.004 + seed / 1000.0);
                r.put("steps", 50);
                r.put("skipped_steps", 3);
                r.put("clip_rate", 0.1);
                r.put("wall_s", 3.5);
                rows.add(r);
            }
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("settings", Map.of("task", "adding"));
        doc.put("policies", List.of("none", "norm:1.0"));
        doc.put("seeds", 2);
        doc.put("metric", "test_mse");
        doc.put("wall_s", 9.0);
        doc.put("rows", rows);
        Files.writeString(dir.resolve("compare.json"), Json.pretty().writeValueAsString(doc));

        HtmlReport.Written written = HtmlReport.write(dir, HtmlReport.defaultFile(dir));
        String html = Files.readString(written.html());
        assertTrue(html.contains("Results per policy and learning rate"));
        assertTrue(html.contains("<td><code>none</code></td><td class=\"num\">0.5</td><td class=\"num\">0/2</td>"
                + "<td class=\"num\">2/2</td><td>non-finite in 2 of 2</td>"), "none collapsed 2/2, its median said as what it is");
        assertTrue(html.contains("<td><code>norm:1.0</code></td><td class=\"num\">0.5</td><td class=\"num\">2/2</td>"
                + "<td class=\"num\">0/2</td><td class=\"num\">0.004500</td>"), "norm:1.0 succeeded 2/2, median metric");
        // the stability map: each cell its count on its success rate's colour, the stable range outlined and named
        assertTrue(html.contains("<td style=\"background:#d6604d;text-align:center;min-width:3.2em;\" title=\"none at lr 0.5:"
                + " 0 of 2 succeeded\">0/2</td><td>none</td>"), html);
        assertTrue(html.contains("background:#4393c3;text-align:center;min-width:3.2em;outline:3px solid #222;"), html);
        assertTrue(html.contains("<td>0.5 only (1.00x)</td>"), html);
        assertEquals(4, count(html, ">none</text>"), "one legend entry per policy in each of the four charts");
        assertEquals(4, count(html, ">norm:1.0</text>"), "one legend entry per policy in each of the four charts");
        assertSelfContained(html);
        assertEquals(4, written.images().size());
        for (Path png : written.images()) {
            assertNotNull(ImageIO.read(png.toFile()), png + " decodes");
        }
    }

    @Test
    void anUnfinishedRunIsReportedFromItsMetricsAlone() throws IOException {
        Path run = tmp.resolve("live");
        Files.createDirectories(run);
        SyntheticRun.appendSteps(run, 0, 25);
        String html = HtmlReport.render(HtmlReport.build(run));
        assertTrue(html.contains("unfinished: 25 steps so far"));
        assertTrue(html.contains("No per-parameter gradient norms"));
        assertTrue(html.contains("The clip policy is unknown until the run writes summary.json"));
    }

    @Test
    void aDirectoryThatIsNeitherARunNorAComparisonIsRefusedInOneLineNamingWhatIsMissing() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HtmlReport.write(empty, HtmlReport.defaultFile(empty)));
        assertTrue(e.getMessage().contains("no metrics.jsonl") && e.getMessage().contains("no compare.json"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertFalse(Files.exists(empty.resolve("report.html")));

        assertEquals(ExitCodes.USAGE, Main.run("report", empty.toString()));
        assertEquals(ExitCodes.USAGE, Main.run("report", tmp.resolve("missing").toString()));
        String[] lines = console.err().split("\n");
        assertEquals(2, lines.length, console.err());
        assertTrue(lines[0].startsWith("gradguard: error: ") && lines[0].contains("no metrics.jsonl"), lines[0]);
        assertTrue(lines[1].contains("is not a directory"), lines[1]);
    }

    @Test
    void onlyReportFilesAreEverOverwritten() throws IOException {
        Path run = SyntheticRun.write(tmp.resolve("run"), 30, "norm:1.0");
        Path notes = Files.writeString(run.resolve("notes.html"), "<p>my notes</p>");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HtmlReport.write(run, notes));
        assertTrue(e.getMessage().contains("is not a gradguard report"), e.getMessage());
        assertEquals("<p>my notes</p>", Files.readString(notes));
        assertFalse(Files.exists(run.resolve("notes-loss.png")), "no chart written before the refusal");

        String metrics = Files.readString(run.resolve("metrics.jsonl"));
        e = assertThrows(IllegalArgumentException.class, () -> HtmlReport.write(run, run.resolve("metrics.jsonl")));
        assertTrue(e.getMessage().contains("must name an .html file"), e.getMessage());
        assertEquals(metrics, Files.readString(run.resolve("metrics.jsonl")));

        Path first = HtmlReport.write(run, HtmlReport.defaultFile(run)).html();
        Path second = HtmlReport.write(run, HtmlReport.defaultFile(run)).html();
        assertEquals(first, second, "a report replaces the previous report");
        Path elsewhere = HtmlReport.write(run, tmp.resolve("out/deep/mine.html")).html();
        assertTrue(Files.exists(elsewhere) && Files.exists(tmp.resolve("out/deep/mine-loss.png")));

        // a picture of the user's where a chart would go, with no report of that name: nothing is written
        Path picture = Files.writeString(tmp.resolve("out/deep/theirs-loss.png"), "the user's picture");
        e = assertThrows(IllegalArgumentException.class, () -> HtmlReport.write(run, tmp.resolve("out/deep/theirs.html")));
        assertEquals("--out " + tmp.resolve("out/deep/theirs.html") + " would write its chart theirs-loss.png beside it, "
                + "and " + picture + " already exists; choose another --out", e.getMessage());
        assertEquals("the user's picture", Files.readString(picture));
        assertFalse(Files.exists(tmp.resolve("out/deep/theirs.html")));
        assertFalse(Files.exists(tmp.resolve("out/deep/theirs-grad-norm.png")), "no chart written before the refusal");
    }

    /** No script, style, font or image is loaded from anywhere. */
    static void assertSelfContained(String html) {
        assertFalse(html.contains("<script src="), "no external scripts");
        assertFalse(html.contains("http://"), "no http:// reference");
        assertFalse(html.contains("https://"), "no https:// reference");
        assertFalse(html.contains("<link"), "no linked style sheets");
        assertFalse(html.contains("@import") || html.contains("url(http") || html.contains("@font-face"), "no fetched CSS");
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }
}
