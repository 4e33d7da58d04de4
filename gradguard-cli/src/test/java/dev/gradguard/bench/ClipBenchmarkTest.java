package dev.gradguard.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.bench.ClipBenchmark.GradientSet;
import dev.gradguard.bench.ClipBenchmark.Method;
import dev.gradguard.bench.ClipBenchmark.Options;
import dev.gradguard.bench.ClipBenchmark.Result;
import dev.gradguard.engine.Devices;
import dev.gradguard.engine.Torch;
import dev.gradguard.metrics.Json;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.bytedeco.pytorch.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The clip benchmark's gradient shapes and its output; no timing is asserted. */
class ClipBenchmarkTest {

    @ParameterizedTest
    @CsvSource({"resnet50, 161, 25557032", "bert-base, 199, 109482240", "small-1000, 1000, 256000"})
    void gradientSetsHaveTheModelsShapes(String id, int tensors, long elements) {
        List<long[]> shapes = GradientSet.fromId(id).shapes();
        assertEquals(tensors, shapes.size());
        long total = 0;
        for (long[] shape : shapes) {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            total += n;
        }
        assertEquals(elements, total);
    }

    @Test
    void aTinyRunFillsEveryColumnWithFiniteNumbersAndNamesTheDevice() throws Exception {
        Torch.load();
        int threads = Torch.threads();
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        List<Result> results;
        try {
            results = ClipBenchmark.run(new Options(2, 1, 1, List.of(GradientSet.SMALL_1000), Devices.resolve("cpu")),
                    new PrintStream(printed, true, StandardCharsets.UTF_8));
        } finally {
            Torch.setThreads(threads);
        }

        assertEquals(2, results.size());
        assertTrue(results.get(0).clipping() && !results.get(1).clipping(), "a clipping and a non-clipping case");
        for (Result r : results) {
            assertEquals("cpu", r.device());
            assertEquals(1000, r.tensors());
            assertEquals(256_000, r.elements());
            for (Method m : Method.values()) {
                assertTrue(Double.isFinite(r.ms(m)) && r.ms(m) > 0, r.set() + " " + m + ": " + r.ms(m));
                if (m.clips()) {
                    assertTrue(r.relativeError().get(m) < 1e-5, m + " norm error " + r.relativeError().get(m));
                }
            }
            for (double ratio : new double[] {r.gradBufferOverRead(), r.gradBufferOverReadWrite(),
                    r.gradBufferOverFloor(), r.libtorchOverGradBuffer(), r.libtorchOverClipGrad()}) {
                assertTrue(Double.isFinite(ratio) && ratio > 0, "ratio " + ratio);
            }
        }

        String table = printed.toString(StandardCharsets.UTF_8);
        assertTrue(table.contains("clip benchmark: libtorch " + Torch.version() + " on cpu, 1 threads"), table);
        assertTrue(table.contains("Clipping on cpu, 1 thread(s), medians of 2 rounds after 1 warm-up\n"), table);
        for (String column : List.of("GradBuf", "ClipGrad", "libtorch", "read", "read+wr", "GB/read", "GB/r+w",
                "GB/floor", "lib/GB", "lib/CG", "errGB", "errCG", "errLib", "small-1000", "no-clip")) {
            assertTrue(table.contains(column), "table has " + column + ":\n" + table);
        }
        assertFalse(table.contains("NaN") || table.contains("Infinity"), table);

        JsonNode json = Json.pretty().readTree(ClipBenchmark.toJson(results));
        assertEquals(2, json.size());
        assertEquals("cpu", json.get(0).get("device").asText());
        assertEquals("clip", json.get(0).get("case").asText());
        assertEquals(5, json.get(1).get("median_ms").size());
        assertEquals(3, json.get(1).get("norm_relative_error").size());
        assertTrue(json.get(1).get("ratios").get("libtorch_over_gradbuffer").isNumber());
    }

    @Test
    void optionsNameTheFieldThatIsWrong() {
        List<GradientSet> all = List.of(GradientSet.values());
        Device cpu = Devices.resolve("cpu");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Options(0, 1, 1, all, cpu))
                .getMessage().contains("repeats"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Options(1, 1, 0, all, cpu))
                .getMessage().contains("threads"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Options(1, 1, 1, List.of(), cpu))
                .getMessage().contains("resnet50, bert-base, small-1000"));
        assertEquals("device", assertThrows(NullPointerException.class, () -> new Options(1, 1, 1, all, null))
                .getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GradientSet.fromId("vgg"))
                .getMessage().contains("allowed: resnet50, bert-base, small-1000"));
    }
}
