package dev.gradguard.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunMetricsTest {
    @TempDir
    Path tmp;

    @Test
    void nonFiniteNumbersWrittenAsStringsReadBackAsDoubles() {
        MetricsRow r = MetricsRow.parse("{\"step\":7,\"loss\":\"NaN\",\"grad_norm\":\"Infinity\",\"grad_norm_clipped\":\"-Infinity\","
                + "\"clipped\":false,\"clip_coef\":1.0,\"lr\":0.1,\"skipped\":true,\"time_ms\":1.0,\"nonfinite\":true,"
                + "\"skip_reason\":\"non-finite loss\"}");
        assertEquals(7, r.step());
        assertTrue(Double.isNaN(r.loss()));
        assertEquals(Double.POSITIVE_INFINITY, r.gradNorm());
        assertEquals(Double.NEGATIVE_INFINITY, r.gradNormClipped());
        assertTrue(r.skipped() && r.nonFinite());
        assertEquals("non-finite loss", r.skipReason().orElseThrow());
        assertEquals(OptionalDouble.empty(), r.thresholdChange());
    }

    @Test
    void theRowsOfTheProjectsOwnWriterReadBackWithMarkersAndThresholdChanges() throws IOException {
        Path run = Files.createDirectories(tmp.resolve("run"));
        SyntheticRun.appendSteps(run, 0, 50);
        RunMetrics m = RunMetrics.read(run.resolve("metrics.jsonl"));
        assertEquals(50, m.size());
        assertEquals(SyntheticRun.NONFINITE_STEPS, m.nonFiniteSteps());
        assertEquals(List.of(SyntheticRun.FINITE_SKIP_STEP), m.otherSkippedSteps());
        double[] threshold = m.threshold(1.0);
        assertEquals(1.0, threshold[(int) SyntheticRun.THRESHOLD_RAISED_AFTER], "a change applies from the next step");
        assertEquals(2.0, threshold[(int) SyntheticRun.THRESHOLD_RAISED_AFTER + 1]);
        assertEquals(SyntheticRun.loss(3), m.loss()[3]);
    }

    @Test
    void theClipRateIsTheFractionClippedOverTheLastWindowSteps() {
        List<MetricsRow> rows = new java.util.ArrayList<>();
        boolean[] clipped = {true, false, true, true, false, false};
        for (int i = 0; i < clipped.length; i++) {
            rows.add(new MetricsRow(i, 1, 1, 1, clipped[i], 0.1, false, false, java.util.Optional.empty(), OptionalDouble.empty(), 1));
        }
        assertArrayEquals(new double[] {1, 0.5, 2 / 3.0, 2 / 3.0, 2 / 3.0, 1 / 3.0}, RunMetrics.of(rows).clipRate(3), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> RunMetrics.of(rows).clipRate(0));
    }

    @Test
    void aTruncatedLastLineIsLeftOutButAMalformedLineBeforeItIsAnError() throws IOException {
        Path file = tmp.resolve("metrics.jsonl");
        Files.writeString(file, "{\"step\":0,\"loss\":1.0}\n{\"step\":1,\"loss\":0.9}\n{\"step\":2,\"lo");
        assertEquals(2, RunMetrics.read(file).size());
        Files.writeString(file, "{\"step\":0,\"loss\":1.0}\nnot json\n{\"step\":2,\"loss\":0.9}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunMetrics.read(file));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
    }

    @Test
    void theThresholdDrawnIsTheSmallestFixedTwoNormThresholdOfTheChain() {
        assertEquals(OptionalDouble.of(1.0), ClipThreshold.of("norm:1.0"));
        assertEquals(OptionalDouble.of(0.5), ClipThreshold.of("value:5,norm:0.5"));
        assertEquals(OptionalDouble.of(2.0), ClipThreshold.of("agc:0.01,norm:2"));
        assertEquals(OptionalDouble.of(1.0), ClipThreshold.of("norm:3,norm:1.0:2"));
        assertEquals(OptionalDouble.empty(), ClipThreshold.of("norm:1.0:inf"), "an inf-norm threshold is not a 2-norm one");
        assertEquals(OptionalDouble.empty(), ClipThreshold.of("zclip"));
        assertEquals(OptionalDouble.empty(), ClipThreshold.of("none"));
        assertEquals(OptionalDouble.empty(), ClipThreshold.of("bogus:1"));
    }
}
