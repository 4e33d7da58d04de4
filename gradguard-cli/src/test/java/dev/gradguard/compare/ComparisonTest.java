package dev.gradguard.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.metrics.Json;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ComparisonTest {
    @TempDir
    Path tmp;

    /** A short adding run: small enough for a test, with the default comparison's aggressive lr. */
    private static Map<String, Object> shortRuns() {
        // the default comparison's settings, whose learning rate the grid sets
        Map<String, Object> m = new LinkedHashMap<>(CompareOptions.defaultTrainSettings());
        m.put("steps", 60);
        m.put("eval-samples", 200);
        return m;
    }

    @Test
    void aGridRunsEveryPolicyLearningRateAndSeedInItsOwnJvmStopsCollapsedRunsEarlyAndWritesTheFiles() throws Exception {
        Map<String, Object> train = shortRuns();
        train.put("steps", 150);
        train.put("max-nonfinite", 5);
        CompareOptions options = new CompareOptions(List.of("none", "norm:1.0"), Optional.of("norm:1.0"), List.of(0.5, 0.05),
                1, 2, train, 300);
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        List<RunResult> rows = Comparison.run(options, claim(tmp), new PrintStream(progress, true, StandardCharsets.UTF_8));
        dev.gradguard.report.ComparisonFiles.write(rows, options, "test_mse", tmp, 1.0);

        assertEquals(4, rows.size());
        assertEquals(List.of("none", "none", "norm:1.0", "norm:1.0"), rows.stream().map(RunResult::policy).toList());
        assertEquals(List.of(0.5, 0.05, 0.5, 0.05), rows.stream().map(RunResult::lr).toList());
        for (RunResult r : rows) {
            assertTrue(r.error().isEmpty(), r + "\n" + Files.readString(tmp.resolve("logs")
                    .resolve(Comparison.runName(r.policy(), r.lr(), r.seed()) + ".log")));
            JsonNode summary = Json.compact().readTree(tmp.resolve("runs").resolve(Comparison.runName(r.policy(), r.lr(), r.seed()))
                    .resolve("summary.json").toFile());
            assertEquals(r.lr(), summary.get("config").get("lr").asDouble(), "the run trained at its grid learning rate");
        }
        // at lr 0.5 the unclipped GRU blows up within the first fifty steps, and the guard stops it 5 non-finite
        // steps later instead of running all 150; clipped, it never collapses
        assertTrue(rows.get(0).collapsed(), rows.toString());
        assertTrue(rows.get(0).steps() < 100, "stopped early: " + rows.get(0));
        assertFalse(rows.get(2).collapsed() || rows.get(3).collapsed(), rows.toString());
        assertTrue(rows.get(2).clipRate() > 0);

        JsonNode doc = Json.compact().readTree(tmp.resolve("compare.json").toFile());
        assertEquals(4, doc.get("rows").size());
        for (String key : List.of("policy", "seed", "lr", "collapsed", "success", "final_metric", "steps", "skipped_steps",
                "clip_rate", "wall_s")) {
            assertTrue(doc.get("rows").get(0).has(key), key);
        }
        assertEquals("norm:1.0", doc.get("default_policy").asText());
        assertEquals(2, doc.get("lrs").size());
        Map<String, java.util.Optional<StableRange>> ranges = StableRange.of(rows);
        for (String policy : List.of("none", "norm:1.0")) {
            JsonNode range = doc.get("stable_lr_range").get(policy);
            assertTrue(range != null, policy + " has an entry");
            assertEquals(ranges.get(policy).isEmpty(), range.isNull(), policy);
            ranges.get(policy).ifPresent(r -> assertEquals(r.ratio(), range.get("ratio").asDouble(), 1e-12));
        }
        String md = Files.readString(tmp.resolve("compare.md"));
        assertTrue(md.contains("| `none` | 0.5 | 0/1 | 1/1 |"), md);
        assertTrue(md.contains("## Stability map") && md.contains("| policy | lr 0.05 | lr 0.5 | stable range |"), md);
        assertEquals(1100, ImageIO.read(tmp.resolve("compare.png").toFile()).getWidth());
        assertTrue(ImageIO.read(tmp.resolve("compare-map.png").toFile()).getWidth() > 300);
        List<String> lines = progress.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(4, lines.size());
        assertTrue(lines.get(0).startsWith("[1/4] ") && lines.get(0).contains("; 3 left, ETA "), lines.get(0));
        assertTrue(lines.get(3).startsWith("[4/4] ") && lines.get(3).endsWith("; 0 left, done"), lines.get(3));
    }

    @Test
    void theProgressLineEstimatesTheTimeLeftFromTheMeanTimePerRunSoFar() {
        assertEquals("[3/12] x; 9 left, ETA 1m30s", Comparison.progressLine(3, 12, 30.0, "x"));
        assertEquals("[1/2] x; 1 left, ETA 45s", Comparison.progressLine(1, 2, 45.0, "x"));
        assertEquals("[2/2] x; 0 left, done", Comparison.progressLine(2, 2, 45.0, "x"));
        assertEquals("1h02m", Comparison.duration(3720));
    }

    @Test
    void aPolicyIsAClipPolicyWithAnOptionalControllerAndDefaultIsTrainsOwn() {
        assertEquals(new Policy("zclip", "auto"), Policy.parse("zclip@auto"));
        assertEquals("zclip@auto", Policy.parse(" zclip @ auto ").spec());
        assertEquals("norm:1.0", Policy.parse("norm:1.0@none").spec());
        dev.gradguard.run.GuardSettings d = dev.gradguard.run.TrainSettings.defaults().guard();
        assertEquals(new Policy(d.clip(), d.controller()), Policy.resolve("default"));
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Policy.parse("zclip@atuo")).getMessage().contains("unknown controller 'atuo'"));
        IllegalArgumentException twice = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new CompareOptions(List.of("norm:1.0", "norm:1.0"), Optional.of("norm:1.0"), List.of(0.1), 1, 1,
                        shortRuns(), 10));
        assertEquals("--policies names norm:1.0 twice ('default' is norm:1.0); give each policy once", twice.getMessage());
    }

    @Test
    void aCrashingRunIsReportedAndDoesNotStopTheOthers() throws Exception {
        Map<String, Object> bad = shortRuns();
        bad.put("task", "charlm");
        bad.put("data", tmp.resolve("missing.txt").toString());
        CompareOptions options = CompareOptions.of(List.of("norm:1.0"), 0.5, 2, 2, bad, 300);
        List<RunResult> rows = Comparison.run(options, claim(tmp), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals(2, rows.size());
        for (RunResult r : rows) {
            assertTrue(r.error().orElseThrow().startsWith("exit code 3: gradguard: error:"), r.error().toString());
        }
    }

    @Test
    void divergenceIsTheEndingLossAboveTenTimesTheUntrainedLoss() {
        double[] steady = new double[100];
        java.util.Arrays.fill(steady, 1.0);
        assertFalse(Comparison.diverged(steady));
        double[] rising = steady.clone();
        for (int i = 50; i < 100; i++) {
            rising[i] = 11.0;
        }
        assertTrue(Comparison.diverged(rising));
        double[] earlySpike = steady.clone();
        for (int i = 1; i < 10; i++) {
            earlySpike[i] = 1e6; // a blow-up right after the start does not raise the bar
        }
        for (int i = 50; i < 100; i++) {
            earlySpike[i] = 9.0;
        }
        assertFalse(Comparison.diverged(earlySpike));
        earlySpike[0] = Double.NaN;
        earlySpike[1] = 0.5;
        assertTrue(Comparison.diverged(earlySpike), "the first finite loss is the start");
        double[] nan = steady.clone();
        for (int i = 50; i < 100; i++) {
            nan[i] = Double.NaN;
        }
        assertTrue(Comparison.diverged(nan), "no finite loss at the end");
    }

    @Test
    void summariesCountSuccessesCollapsesAndTakeMediansPerPolicyAndLearningRate() {
        List<RunResult> rows = List.of(
                row("a", 0, 0.1, false, true, 0.1, 0.5),
                row("a", 1, 0.1, true, false, 0.3, 0.1),
                row("a", 2, 0.1, false, true, 0.2, 0.2),
                row("a", 0, 1.0, true, false, Double.POSITIVE_INFINITY, 0.9),
                row("a", 1, 1.0, true, false, Double.NaN, 0.9),
                row("a", 2, 1.0, false, false, 4.0, 0.9),
                new RunResult("b", 0, 0.1, false, false, Double.NaN, 0, 0, Double.NaN, 1, Optional.of("exit code 1")));
        List<PolicySummary> s = PolicySummary.summarize(rows);
        assertEquals(new PolicySummary("a", 0.1, 3, 2, 1, 0, 0, 0.2, 0.2), s.get(0));
        assertEquals("0.2000", s.get(0).medianMetricText());
        assertEquals(new PolicySummary("a", 1.0, 3, 0, 2, 0, 2, 4.0, 0.9), s.get(1));
        assertEquals("4.000 (2 non-finite left out)", s.get(1).medianMetricText());
        assertEquals("non-finite in 2 of 2", new PolicySummary("c", 1, 2, 0, 2, 0, 2, Double.NaN, 0).medianMetricText());
        assertEquals(1, s.get(2).crashes());
        assertEquals("no run finished", s.get(2).medianMetricText());
    }

    @Test
    void theStableRangeIsTheWidestRunOfAdjacentLearningRatesWhereAtLeast80PercentSucceed() {
        List<RunResult> rows = new java.util.ArrayList<>();
        // gap: stable at 0.01 and at 0.1..1, not at 0.03; the wider run wins
        cell(rows, "gap", 0.01, 3, 3);
        cell(rows, "gap", 0.03, 1, 3);
        cell(rows, "gap", 0.1, 3, 3);
        cell(rows, "gap", 0.3, 3, 3);
        cell(rows, "gap", 1, 3, 3);
        // 4 of 5 is 80%: stable; 3 of 5 is not
        cell(rows, "edge", 0.01, 4, 5);
        cell(rows, "edge", 0.03, 4, 5);
        cell(rows, "edge", 0.1, 3, 5);
        cell(rows, "edge", 0.3, 5, 5);
        cell(rows, "edge", 1, 0, 5);
        // 0.01..0.03 (3x) against 0.3..1 (3.33x): the wider wins, though it lies higher
        cell(rows, "tie", 0.01, 2, 2);
        cell(rows, "tie", 0.03, 2, 2);
        cell(rows, "tie", 0.1, 0, 2);
        cell(rows, "tie", 0.3, 2, 2);
        cell(rows, "tie", 1, 2, 2);
        cell(rows, "never", 0.01, 0, 2);
        cell(rows, "never", 1, 1, 2);
        Map<String, Optional<StableRange>> r = StableRange.of(rows);
        assertEquals(Optional.of(new StableRange(0.1, 1)), r.get("gap"));
        assertEquals(10.0, r.get("gap").orElseThrow().ratio(), 1e-12);
        assertEquals(Optional.of(new StableRange(0.01, 0.03)), r.get("edge"), "0.3 alone is 1x, 0.01..0.03 is 3x");
        assertEquals(Optional.of(new StableRange(0.3, 1)), r.get("tie"));
        assertEquals(Optional.empty(), r.get("never"));
        assertEquals(List.of("gap", "edge", "tie", "never"), List.copyOf(r.keySet()));

        List<RunResult> same = new java.util.ArrayList<>();
        cell(same, "a", 0.01, 1, 1);
        cell(same, "a", 0.1, 0, 1);
        cell(same, "a", 1, 1, 1);
        assertEquals(Optional.of(new StableRange(0.01, 0.01)), StableRange.of(same).get("a"), "equal ratios: the lowest");

        List<RunResult> single = new java.util.ArrayList<>();
        cell(single, "a", 0.5, 3, 3);
        cell(single, "b", 0.5, 2, 3);
        assertEquals(Optional.of(new StableRange(0.5, 0.5)), StableRange.of(single).get("a"));
        assertEquals(1.0, StableRange.of(single).get("a").orElseThrow().ratio());
        assertEquals(Optional.empty(), StableRange.of(single).get("b"));

        List<RunResult> crashed = new java.util.ArrayList<>();
        cell(crashed, "a", 0.1, 4, 4);
        crashed.add(new RunResult("a", 9, 0.1, false, false, Double.NaN, 0, 0, Double.NaN, 1, Optional.of("exit code 1")));
        crashed.add(new RunResult("a", 10, 0.1, false, false, Double.NaN, 0, 0, Double.NaN, 1, Optional.of("exit code 1")));
        assertEquals(Optional.empty(), StableRange.of(crashed).get("a"), "4 of 6 with two crashes is below 80%");
    }

    private static RunResult row(String policy, long seed, double lr, boolean collapsed, boolean success, double metric,
            double clipRate) {
        return new RunResult(policy, seed, lr, collapsed, success, metric, 10, 0, clipRate, 1, Optional.empty());
    }

    /** {@code runs} rows of a policy at a learning rate, the first {@code successes} of them successful. */
    private static void cell(List<RunResult> rows, String policy, double lr, int successes, int runs) {
        for (int i = 0; i < runs; i++) {
            rows.add(row(policy, i, lr, false, i < successes, 0.1, 0));
        }
    }

    @Test
    void optionsRejectBadGrids() {
        Map<String, Object> t = shortRuns();
        assertEquals("--seeds must be at least 1, got 0", org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> CompareOptions.of(List.of("none"), 0.1, 0, 1, t, 10)).getMessage());
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> CompareOptions.of(List.of("nrom:1"), 0.1, 1, 1, t, 10)).getMessage().startsWith("unknown clip policy 'nrom:1'"));
        Map<String, Object> withClip = new LinkedHashMap<>(t);
        withClip.put("controller", "auto");
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> CompareOptions.of(List.of("none"), 0.1, 1, 1, withClip, 10)).getMessage()
                .startsWith("'controller' is set by compare for each run"));
        assertEquals("--lrs names a learning rate twice, got [0.1, 0.1]; give each once",
                org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> new CompareOptions(
                        List.of("none"), Optional.empty(), List.of(0.1, 0.1), 1, 1, t, 10)).getMessage());
    }

    /** The test's directory as a comparison claims it (an empty temporary directory). */
    private static dev.gradguard.session.RunDirectory claim(java.nio.file.Path dir) {
        return dev.gradguard.session.RunDirectory.open(dir, dev.gradguard.session.RunDirectory.Mode.CREATE);
    }
}
