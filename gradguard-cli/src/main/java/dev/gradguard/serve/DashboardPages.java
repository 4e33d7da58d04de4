package dev.gradguard.serve;

import dev.gradguard.report.Html;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/**
 * The dashboard's two HTML pages. Both are complete without anything fetched but the JSON API: the style
 * sheet and the plotting script (a few lines drawing on {@code <canvas>}) are inline, and the script runs
 * only with the response's CSP nonce.
 */
final class DashboardPages {
    /** Polling period of the run page, milliseconds. */
    static final int POLL_MS = 1500;
    /** Clip-rate window of the run page, in steps. */
    static final int CLIP_WINDOW = 50;

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
        return head("gradguard runs: " + rootName, nonce) + "<body>\n<h1>Runs in <span class=\"mono\">"
                + Html.escape(rootName) + "</span></h1>\n"
                + "<p class=\"caption\">Every directory here with a metrics.jsonl, the most recently written first;"
                + " this list refreshes itself.</p>\n"
                + "<table id=\"runs\"><thead><tr><th>run</th><th>steps</th><th>last loss</th><th>status</th>"
                + "<th>last written</th></tr></thead>\n<tbody>\n" + rows + "</tbody></table>\n"
                + "<p id=\"empty\"" + (runs.isEmpty() ? "" : " hidden") + ">No runs yet.</p>\n"
                + "<script nonce=\"" + nonce + "\">\n" + INDEX_SCRIPT + "</script>\n</body>\n</html>\n";
    }

    /** {@code /run/<name>}: live charts of one run. */
    static String run(String name, String nonce) {
        return head("gradguard run " + name, nonce) + "<body data-run=\"" + Html.escape(name) + "\" data-poll-ms=\"" + POLL_MS
                + "\" data-clip-window=\"" + CLIP_WINDOW + "\">\n"
                + "<p><a href=\"/\">all runs</a></p>\n"
                + "<h1>Run <span class=\"mono\">" + Html.escape(name) + "</span></h1>\n"
                + "<p>steps done: <b id=\"step\" class=\"mono\">-</b> &middot; <span id=\"status\">loading</span></p>\n"
                + canvas("c-loss", "Training loss") + canvas("c-norm", "Gradient 2-norm before and after clipping (log scale)")
                + canvas("c-clip", "Clip rate over the last " + CLIP_WINDOW + " steps")
                + canvas("c-lr", "Learning rate")
                + "<p class=\"caption\">Vertical lines: skipped steps (red: non-finite; purple: skipped with finite values)."
                + " The clip threshold appears when the run has finished and its policy has one.</p>\n"
                + "<div id=\"summary\"></div>\n"
                + "<script nonce=\"" + nonce + "\">\n" + RUN_SCRIPT + "</script>\n</body>\n</html>\n";
    }

    /** A page for an error status. */
    static String error(int status, String message) {
        return head("gradguard: " + status, "none") + "<body>\n<h1>" + status + "</h1>\n<p>" + Html.escape(message)
                + "</p>\n<p><a href=\"/\">all runs</a></p>\n</body>\n</html>\n";
    }

    /** The page path of a run, its name percent-encoded. */
    static String runPath(String name) {
        return "/run/" + URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String head(String title, String nonce) {
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                + "<title>" + Html.escape(title) + "</title>\n<style>\n" + Html.STYLE
                + "canvas { width: 100%; max-width: 1100px; border: 1px solid #eee; display: block; }\n"
                + "figure { margin: 0 0 14px; } figcaption { font-weight: 600; margin: 4px 0; }\n"
                + "</style>\n</head>\n";
    }

    private static String canvas(String id, String caption) {
        return "<figure><figcaption>" + Html.escape(caption) + "</figcaption><canvas id=\"" + id
                + "\" width=\"1100\" height=\"240\"></canvas></figure>\n";
    }

    private static final String INDEX_SCRIPT = script("dashboard-index.js");
    private static final String RUN_SCRIPT = script("dashboard-run.js");

    /** A script of the pages, from the jar's resources next to this class. */
    private static String script(String name) {
        try (InputStream in = DashboardPages.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("the dashboard's " + name + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the dashboard's " + name + ": " + e.getMessage(), e);
        }
    }
}
