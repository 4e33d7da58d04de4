package dev.gradguard.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.bench.StepBenchmark.Options;
import dev.gradguard.bench.StepBenchmark.Result;
import dev.gradguard.engine.Devices;
import dev.gradguard.engine.Torch;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The step benchmark's results and table on a chosen device; no timing is asserted. */
class StepBenchmarkTest {

    @Test
    void aTinyRunOnTheCpuNamesTheDeviceInItsResultsAndTable() throws Exception {
        Torch.load();
        int threads = Torch.threads();
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        List<Result> results;
        try {
            results = StepBenchmark.run(new Options(2, 1, 1, List.of("transformer"), Devices.resolve("cpu")),
                    new PrintStream(printed, true, StandardCharsets.UTF_8));
        } finally {
            Torch.setThreads(threads);
        }

        assertEquals(1, results.size());
        Result r = results.get(0);
        assertEquals("cpu", r.device());
        assertEquals("transformer", r.model());
        assertEquals(534_026, r.parameters());
        assertEquals(2, r.steps());
        assertTrue(r.bareMedianMs() > 0 && r.guardedMedianMs() > 0, r.toString());
        assertTrue(Double.isFinite(r.overheadPercent()) && Double.isFinite(r.pairedOverheadPercent()), r.toString());
        assertTrue(r.uncheckedMedianMs() > 0, r.toString());
        assertEquals(100 * (r.guardedMedianMs() / r.uncheckedMedianMs() - 1), r.checkPercent(), 1e-9);
        assertTrue(Double.isFinite(r.pairedCheckPercent()), r.toString());
        assertEquals(r.checkPercent(), r.toMap().get("update_check_percent"));
        assertEquals("cpu", r.toMap().get("device"));

        String table = printed.toString(StandardCharsets.UTF_8);
        assertTrue(table.contains("Full guard vs bare loop on cpu, 2 interleaved steps per arm, 1 thread(s), medians"),
                table);
        assertTrue(table.contains("| transformer | encoder 2 x 128 wide, 4 heads, batch 32 x 64 tokens | 534,026 |"), table);
    }

    @Test
    void optionsRefuseAnUnknownModelAndAMissingDevice() {
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new Options(1, 0, 1, List.of("resnet"), Devices.resolve("cpu")))
                .getMessage().contains("allowed: charlm, convnet, transformer"));
        assertEquals("device", assertThrows(NullPointerException.class,
                () -> new Options(1, 0, 1, List.of("charlm"), null)).getMessage());
    }
}
