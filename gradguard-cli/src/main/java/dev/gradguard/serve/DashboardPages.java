package dev.gradguard.serve;

import dev.gradguard.report.Html;
import dev.gradguard.report.RunMetrics;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

/**
 * The dashboard's two HTML pages. Both are complete without anything fetched but the JSON API and the chart
 * library (uPlot, served from its WebJar in the jar at {@link #CHART_LIBRARY_PATH}): the style sheets are
 * inline, and the page's own script runs only with the response's CSP nonce.
 */
final class DashboardPages {
    /** Polling period of the run page, milliseconds. */
    static final int POLL_MS = 1500;
    /** Where the chart library is served, as path segments. */
    static final List<String> CHART_LIBRARY_PATH = List.of("static", "uPlot.iife.min.js");
    /** The chart library's version, from its WebJar's Maven metadata. */
    private static final String UPLOT_VERSION = webJarVersion("org.webjars.npm", "uplot");
    /** The chart library, as the WebJar ships it. */
    static final String CHART_LIBRARY = resource("/META-INF/resources/webjars/uplot/" + UPLOT_VERSION + "/dist/uPlot.iife.min.js");
    private static final String CHART_STYLE = resource("/META-INF/resources/webjars/uplot/" + UPLOT_VERSION + "/dist/uPlot.min.css");

    private DashboardPages() {
    }

    /** {@code /}: the runs, newest first; the table refreshes itself every 3 s. */
    static String index(String rootName, List<RunCatalog.RunInfo> runs, long nowMillis, String nonce) {
        StringBuilder rows = new StringBuilder();
        for (RunCatalog.RunInfo r : runs) {
            rows.append("<tr><td><a href=\"").append(Html.escape(runPath(r.name()))).append("\">")
                    .append(Html.escape(r.name())).append("</a></td><td class=\"num\">").append(r.steps())
                    .append("</td><td class=\"num\">").append(Html.number(r.lastLoss())).append("</td><td>")
                    .append(Html.escape(DashboardApi.status(r, nowMillis))).append("</td><td>")
                    .append(Instant.ofEpochMilli(r.modifiedMillis())).append("</td></tr>\n");
        }
        return head("gradguard runs: " + rootName) + "<body>\n<h1>Runs in <span class=\"mono\">"
                + Html.escape(rootName) + "</span></h1>\n"
                + "<p class=\"caption\">Every directory here with a metrics.jsonl, and the runs of each comparison"
                + " (<span class=\"mono\">&lt;comparison&gt;/runs/&lt;policy&gt;-seed&lt;k&gt;</span>), the most recently"
                + " written first; this list refreshes itself.</p>\n"
                + "<table id=\"runs\"><thead><tr><th>run</th><th>steps</th><th>last loss</th><th>status</th>"
                + "<th>last written</th></tr></thead>\n<tbody>\n" + rows + "</tbody></table>\n"
                + "<p id=\"empty\"" + (runs.isEmpty() ? "" : " hidden") + ">No runs yet.</p>\n"
                + "<script nonce=\"" + nonce + "\">\n" + INDEX_SCRIPT + "</script>\n</body>\n</html>\n";
    }

    /** {@code /run/<name>}: live charts of one run; {@code runsDir} is the directory served, for the hint to keep watching. */
    static String run(String name, Path runsDir, String nonce) {
        String window = Integer.toString(RunMetrics.CLIP_RATE_WINDOW);
        return head("gradguard run " + name) + "<body data-run=\"" + Html.escape(name) + "\" data-poll-ms=\"" + POLL_MS
                + "\" data-clip-window=\"" + window + "\" data-runs-dir=\"" + Html.escape(runsDir.toString()) + "\">\n"
                + "<p><a href=\"/\">all runs</a></p>\n"
                + "<h1>Run <span class=\"mono\">" + Html.escape(name) + "</span></h1>\n"
                + "<p>steps done: <b id=\"step\" class=\"mono\">-</b><span id=\"total\"></span>"
                + " <span id=\"eta\"></span> &middot; <span id=\"status\">loading</span></p>\n"
                + "<p id=\"after\" class=\"caption\" hidden></p>\n"
                + chart("c-loss", "Training loss", "")
                + chart("c-norm", "Gradient 2-norm before and after clipping (log scale)",
                        "<span id=\"norm-caption\"></span>")
                + chart("c-clip", "Clip rate over the last " + window + " steps",
                        "The fraction of the last " + window + " steps whose gradients the clip policy changed"
                                + " (the same window as the run report and the comparison).")
                + chart("c-lr", "Learning rate", "The learning rate of each step's update, after the schedule and any controller.")
                + "<p class=\"caption\">Vertical lines: skipped steps (red: non-finite; purple: skipped with finite values)."
                + " Drag across a chart to zoom in, double-click to zoom out; the legend shows the values under the cursor"
                + " (click an entry to hide its curve).</p>\n"
                + "<div id=\"summary\"></div>\n"
                + "<script src=\"/" + String.join("/", CHART_LIBRARY_PATH) + "\"></script>\n"
                + "<script nonce=\"" + nonce + "\">\n" + RUN_SCRIPT + "</script>\n</body>\n</html>\n";
    }

    /** A page for an error status. */
    static String error(int status, String message) {
        return head("gradguard: " + status) + "<body>\n<h1>" + status + "</h1>\n<p>" + Html.escape(message)
                + "</p>\n<p><a href=\"/\">all runs</a></p>\n</body>\n</html>\n";
    }

    /** The page path of a run, its name percent-encoded. */
    static String runPath(String name) {
        StringBuilder path = new StringBuilder("/run");
        for (String segment : name.split("/")) {
            path.append('/').append(URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"));
        }
        return path.toString();
    }

    private static String head(String title) {
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                + "<title>" + Html.escape(title) + "</title>\n<style>\n" + Html.STYLE + CHART_STYLE + "\n"
                + ".chart { max-width: 1100px; min-height: 260px; }\n"
                + "figure { margin: 0 0 18px; } figcaption { font-weight: 600; margin: 4px 0; }\n"
                + "</style>\n</head>\n";
    }

    /** A chart's place: a title, the element the script draws into, and a caption (HTML) under it. */
    private static String chart(String id, String title, String captionHtml) {
        return "<figure><figcaption>" + Html.escape(title) + "</figcaption><div class=\"chart\" id=\"" + id + "\"></div>"
                + (captionHtml.isEmpty() ? "" : "<p class=\"caption\">" + captionHtml + "</p>") + "</figure>\n";
    }

    private static final String INDEX_SCRIPT = resource("dashboard-index.js");
    private static final String RUN_SCRIPT = resource("dashboard-run.js");

    /** A text file of the pages from the jar: next to this class, or absolute from {@code /}. */
    private static String resource(String name) {
        try (InputStream in = DashboardPages.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("the dashboard's " + name + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the dashboard's " + name + ": " + e.getMessage(), e);
        }
    }

    /** The version of a WebJar on the class path, from the {@code pom.properties} Maven packs into it. */
    private static String webJarVersion(String group, String artifact) {
        Properties pom = new Properties();
        try {
            pom.load(new java.io.StringReader(resource("/META-INF/maven/" + group + "/" + artifact + "/pom.properties")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return pom.getProperty("version");
    }
}
