package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.engine.Torch;
import dev.gradguard.metrics.Json;
import dev.gradguard.testing.ConsoleCapture;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code gradguard bench clip|step --device}: tiny runs that name their device, and the flag's errors. */
class BenchCommandTest {
    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    private int threads;

    @BeforeEach
    void rememberThreads() {
        Torch.load();
        threads = Torch.threads();
    }

    @AfterEach
    void restoreThreads() {
        Torch.setThreads(threads);
    }

    @Test
    void clipOnTheCpuNamesTheDeviceInItsTableAndJson() throws Exception {
        Path json = tmp.resolve("clip.json");
        assertEquals(ExitCodes.OK, Main.run("bench", "clip", "--device", "cpu", "--sets", "small-1000",
                "--repeats", "1", "--warmup", "0", "--threads", "1", "--json", json.toString()), console.err());

        assertTrue(console.out().startsWith("Clipping on cpu, 1 thread(s), medians of 1 rounds after 0 warm-up\n"),
                console.out());
        assertTrue(console.out().contains("small-1000  no-clip    1000 |"), console.out());
        JsonNode doc = Json.pretty().readTree(json.toFile());
        assertEquals("clip", doc.get("benchmark").asText());
        assertEquals("cpu", doc.get("options").get("device").asText());
        assertEquals(2, doc.get("results").size());
        for (JsonNode row : doc.get("results")) {
            assertEquals("cpu", row.get("device").asText());
        }
        // an earlier benchmark's numbers are replaced
        assertEquals(ExitCodes.OK, Main.run("bench", "clip", "--device", "cpu", "--sets", "small-1000",
                "--repeats", "2", "--warmup", "0", "--threads", "1", "--json", json.toString()), console.err());
        assertEquals(2, Json.pretty().readTree(json.toFile()).get("options").get("repeats").asInt());
    }

    @Test
    void stepOnTheCpuNamesTheDeviceInItsTableAndJson() throws Exception {
        Path json = tmp.resolve("step.json");
        assertEquals(ExitCodes.OK, Main.run("bench", "step", "--device", "cpu", "--models", "convnet",
                "--steps", "2", "--warmup", "0", "--threads", "1", "--json", json.toString()), console.err());

        assertTrue(console.out().contains("Full guard vs bare loop on cpu, 2 interleaved steps per arm, 1 thread(s)"),
                console.out());
        assertTrue(console.out().contains("| convnet | CNN 32-64-128, batch 64 x 3x32x32 | 94,986 |"), console.out());
        JsonNode doc = Json.pretty().readTree(json.toFile());
        assertEquals("step", doc.get("benchmark").asText());
        assertEquals("cpu", doc.get("options").get("device").asText());
        assertEquals("cpu", doc.get("results").get(0).get("device").asText());
        assertEquals("convnet", doc.get("results").get(0).get("model").asText());
    }

    @Test
    void aGpuWithoutUsableCudaExitsTwoWithOneLine() {
        assumeFalse(torch.cuda_is_available(), "this machine has a usable GPU");
        for (String bench : List.of("clip", "step")) {
            String message = expectUsageError(bench, "cuda");
            assertTrue(message.contains("device cuda: CUDA is not usable on this machine"), message);
        }
    }

    @Test
    void anUnknownDeviceExitsTwoNamingTheAllowedForms() {
        for (String bench : List.of("clip", "step")) {
            String message = expectUsageError(bench, "bogus");
            assertTrue(message.contains("device must be one of auto, cpu, cuda, cuda:N, got 'bogus'"), message);
        }
    }

    @Test
    void distTakesNoDeviceBecauseGlooRunsOnTheCpu() {
        String message = expectUsageError("dist", "cpu");
        assertTrue(message.contains("Unknown options: '--device', 'cpu'"), message);
    }

    /** Runs {@code bench NAME --device SPEC}, expects exit 2 and one line on standard error, returns it. */
    private String expectUsageError(String bench, String device) {
        console.reset();
        assertEquals(ExitCodes.USAGE, Main.run("bench", bench, "--device", device, "--threads", "1"), console.err());
        List<String> lines = console.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), console.err());
        assertTrue(lines.get(0).startsWith("gradguard: error: "), lines.get(0));
        assertEquals("", console.out());
        return lines.get(0);
    }
}
