package dev.gradguard.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.metrics.Json;
import dev.gradguard.report.ClipThreshold;
import dev.gradguard.report.MetricsRow;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The dashboard's JSON: {@code /api/runs} and {@code /api/run/<name>/metrics?from=<step>}. Non-finite
 * numbers are the strings {@code "NaN"}, {@code "Infinity"}, {@code "-Infinity"}, as in {@code metrics.jsonl}.
 */
final class DashboardApi {
    /** At most this many rows per metrics response; {@code more} tells the client to ask again at once. */
    static final int MAX_ROWS = 5000;
    /** A run without a summary whose metrics have not changed for this long is shown as unfinished. */
    static final long IDLE_MILLIS = 60_000;

    private DashboardApi() {
    }

    /** A run's state in a few words: running, unfinished, learned, did not learn, or stopped early. */
    static String status(RunCatalog.RunInfo run, long nowMillis) {
        if (run.summary().isPresent()) {
            JsonNode s = run.summary().get();
            if (s.has("completed") && !s.path("completed").asBoolean()) {
                return "stopped early";
            }
            return s.path("learned").asBoolean() ? "learned" : "did not learn";
        }
        return nowMillis - run.modifiedMillis() < IDLE_MILLIS ? "running" : "unfinished";
    }

    /** {@code /api/runs}: each run's name, page, step count, last loss, status and last write. */
    static List<Map<String, Object>> runs(List<RunCatalog.RunInfo> runs, long nowMillis) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (RunCatalog.RunInfo r : runs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", r.name());
            m.put("url", DashboardPages.runPath(r.name()));
            m.put("steps", r.steps());
            m.put("last_step", r.lastStep());
            m.put("last_loss", Json.number(r.lastLoss()));
            m.put("status", status(r, nowMillis));
            m.put("finished", r.summary().isPresent());
            m.put("learned", r.summary().map(s -> s.path("learned").asBoolean()).orElse(null));
            m.put("modified", r.modifiedMillis());
            out.add(m);
        }
        return out;
    }

    /**
     * {@code /api/run/<name>/metrics?from=<step>}: the rows with {@code step >= from} as columns (at most
     * {@link #MAX_ROWS}), {@code next} (the step to ask from next time), {@code more}, the clip policy and
     * its threshold and the steps the run is to train (from the run's config.json), the status and the
     * summary. {@code time_ms} is each step's wall time.
     */
    static Map<String, Object> metrics(RunCatalog.Run run, long from, long nowMillis) {
        List<MetricsRow> rows = run.rows();
        int start = firstAtOrAfter(rows, from);
        int end = Math.min(rows.size(), start + MAX_ROWS);
        List<Object> step = new ArrayList<>();
        List<Object> loss = new ArrayList<>();
        List<Object> gradNorm = new ArrayList<>();
        List<Object> gradNormClipped = new ArrayList<>();
        List<Object> lr = new ArrayList<>();
        List<Object> clipped = new ArrayList<>();
        List<Object> skipped = new ArrayList<>();
        List<Object> nonFinite = new ArrayList<>();
        List<Object> timeMs = new ArrayList<>();
        for (MetricsRow r : rows.subList(start, end)) {
            step.add(r.step());
            loss.add(Json.number(r.loss()));
            gradNorm.add(Json.number(r.gradNorm()));
            gradNormClipped.add(Json.number(r.gradNormClipped()));
            lr.add(Json.number(r.lr()));
            clipped.add(r.clipped());
            skipped.add(r.skipped());
            nonFinite.add(r.nonFinite());
            timeMs.add(Json.number(r.timeMs()));
        }
        long next = end > start ? rows.get(end - 1).step() + 1 : from;
        // the run's config.json says its clip policy from the first step; summary.json repeats it at the end
        Optional<JsonNode> config = run.config().or(() -> run.summary().map(s -> s.path("config")));
        Optional<String> clip = config.map(c -> c.path("clip").asText("")).filter(c -> !c.isEmpty());
        OptionalDouble threshold = clip.map(ClipThreshold::of).orElse(OptionalDouble.empty());
        long totalSteps = config.map(c -> c.path("steps").asLong(0)).orElse(0L);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", run.name());
        m.put("from", from);
        m.put("next", next);
        m.put("more", end < rows.size());
        m.put("status", status(run.info(), nowMillis));
        m.put("clip", clip.orElse(null));
        m.put("threshold", threshold.isPresent() ? threshold.getAsDouble() : null);
        m.put("total_steps", totalSteps > 0 ? totalSteps : null);
        m.put("step", step);
        m.put("loss", loss);
        m.put("grad_norm", gradNorm);
        m.put("grad_norm_clipped", gradNormClipped);
        m.put("lr", lr);
        m.put("clipped", clipped);
        m.put("skipped", skipped);
        m.put("nonfinite", nonFinite);
        m.put("time_ms", timeMs);
        m.put("summary", run.summary().orElse(null));
        return m;
    }

    /** The index of the first row with {@code step >= from} (rows are in step order). */
    private static int firstAtOrAfter(List<MetricsRow> rows, long from) {
        int lo = 0;
        int hi = rows.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (rows.get(mid).step() < from) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
