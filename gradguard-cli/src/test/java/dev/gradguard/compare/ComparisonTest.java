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
        Map<String, Object> m = new LinkedHashMap<>(CompareOptions.defaultTrainSettings());
        m.put("steps", 60);
        m.put("eval-samples", 200);
        return m;
    }

    @Test
    void aGridRunsEachCellInItsOwnJvmAndWritesJsonMarkdownAndAChart() throws Exception {
        CompareOptions options = new CompareOptions(List.of("none", "norm:1.0"), 2, 2, shortRuns(), 300);
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        List<RunResult> rows = Comparison.run(options, claim(tmp), new PrintStream(progress, true, StandardCharsets.UTF_8));
        dev.gradguard.report.ComparisonFiles.write(rows, options, "test_mse", tmp, 1.0);

        assertEquals(4, rows.size());
        assertEquals(List.of("none", "none", "norm:1.0", "norm:1.0"), rows.stream().map(RunResult::policy).toList());
        assertEquals(List.of(0L, 1L, 0L, 1L), rows.stream().map(RunResult::seed).toList());
        for (RunResult r : rows) {
            assertTrue(r.error().isEmpty(), r + "\n" + Files.readString(tmp.resolve("logs")
                    .resolve(Comparison.slug(r.policy()) + "-seed" + r.seed() + ".log")));
            assertTrue(Files.exists(tmp.resolve("runs").resolve(Comparison.slug(r.policy()) + "-seed" + r.seed())
                    .resolve("summary.json")));
        }
        // at lr 0.5 the unclipped GRU blows up within the first hundred steps; clipped, it never does
        assertTrue(rows.get(0).collapsed() && rows.get(1).collapsed(), rows.toString());
        assertFalse(rows.get(2).collapsed() || rows.get(3).collapsed(), rows.toString());
        assertTrue(rows.get(2).clipRate() > 0);

        JsonNode doc = Json.compact().readTree(tmp.resolve("compare.json").toFile());
        assertEquals(4, doc.get("rows").size());
        for (String key : List.of("policy", "seed", "collapsed", "success", "final_metric", "steps", "skipped_steps",
                "clip_rate", "wall_s")) {
            assertTrue(doc.get("rows").get(0).has(key), key);
        }
        String md = Files.readString(tmp.resolve("compare.md"));
        assertTrue(md.contains("| `none` | 0/2 | 2/2 |"), md);
        assertTrue(ImageIO.read(tmp.resolve("compare.png").toFile()).getWidth() == 1100);
        assertEquals(4, progress.toString(StandardCharsets.UTF_8).lines().count());
    }

    @Test
    void aCrashingRunIsReportedAndDoesNotStopTheOthers() throws Exception {
        Map<String, Object> bad = shortRuns();
        bad.put("task", "charlm");
        bad.put("data", tmp.resolve("missing.txt").toString());
        CompareOptions options = new CompareOptions(List.of("norm:1.0"), 2, 2, bad, 300);
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
    void summariesCountSuccessesCollapsesAndTakeMedians() {
        List<RunResult> rows = List.of(
                new RunResult("a", 0, false, true, 0.1, 10, 0, 0.5, 1, Optional.empty()),
                new RunResult("a", 1, true, false, 0.3, 10, 2, 0.1, 1, Optional.empty()),
                new RunResult("a", 2, false, true, 0.2, 10, 0, 0.2, 1, Optional.empty()),
                new RunResult("b", 0, false, false, Double.NaN, 0, 0, Double.NaN, 1, Optional.of("exit code 1")));
        List<PolicySummary> s = PolicySummary.summarize(rows);
        assertEquals(new PolicySummary("a", 3, 2, 1, 0, 0.2, 0.2), s.get(0));
        assertEquals(1, s.get(1).crashes());
        assertTrue(Double.isNaN(s.get(1).medianMetric()));
    }

    @Test
    void optionsRejectBadGrids() {
        Map<String, Object> t = shortRuns();
        assertEquals("--seeds must be at least 1, got 0", org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> new CompareOptions(List.of("none"), 0, 1, t, 10)).getMessage());
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new CompareOptions(List.of("nrom:1"), 1, 1, t, 10)).getMessage().startsWith("unknown clip policy 'nrom:1'"));
    }

    /** The test's directory as a comparison claims it (an empty temporary directory). */
    private static dev.gradguard.session.RunDirectory claim(java.nio.file.Path dir) {
        return dev.gradguard.session.RunDirectory.open(dir, dev.gradguard.session.RunDirectory.Mode.CREATE);
    }
}
