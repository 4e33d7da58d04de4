package dev.gradguard.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.cli.Main;
import dev.gradguard.engine.Torch;
import dev.gradguard.metrics.Json;
import dev.gradguard.testing.ConsoleCapture;
import dev.gradguard.interop.RealPython;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench step --vs-pytorch}: tiny runs against real PyTorch 2.13 ({@code scripts/step_bench.py}). */
class PyTorchComparisonTest {
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
    void everyWorkloadRunsTheSameModelInBothArmsAndReportsTheRatio() throws Exception {
        RealPython.requireModule("safetensors"); // the script takes the Transformer from transformer_check.py
        Path python = RealPython.requireModule("torch");
        Path json = tmp.resolve("vs.json");
        // the run refuses a workload whose two arms count different parameters, so exit 0 says the models agree
        assertEquals(0, Main.run("bench", "step", "--vs-pytorch", "--python", python.toString(), "--steps", "2",
                "--warmup", "0", "--rounds", "2", "--threads", "1", "--json", json.toString()), console.err());

        assertTrue(console.out().contains("eager's bare loop on the CPU, 2 steps per arm in 2 interleaved rounds, "
                + "1 thread(s), medians"), console.out());
        assertTrue(console.out().contains("| default | GRU 32, temporal order T=100, batch 64, SGD | 3,972 |"),
                console.out());
        JsonNode doc = Json.pretty().readTree(json.toFile());
        assertEquals("step-vs-pytorch", doc.get("benchmark").asText());
        assertEquals(PyTorchComparison.WORKLOADS.size(), doc.get("results").size());
        for (JsonNode row : doc.get("results")) {
            double ours = row.get("gradguard_median_ms").asDouble();
            double theirs = row.get("pytorch_median_ms").asDouble();
            assertTrue(ours > 0 && theirs > 0, row.toString());
            assertEquals(ours / theirs, row.get("ratio").asDouble(), 1e-12, row.toString());
            double oursCpu = row.get("gradguard_cpu_median_ms").asDouble();
            double theirsCpu = row.get("pytorch_cpu_median_ms").asDouble();
            assertTrue(oursCpu > 0 && theirsCpu > 0, row.toString());
            assertEquals(oursCpu / theirsCpu, row.get("cpu_ratio").asDouble(), 1e-12, row.toString());
        }
        // parameter counts of the models both arms build, as PyTorch counts them
        List<Long> expected = List.of(3_972L, 98_400L, 110_336L, 94_986L, 94_986L, 0L, 82_944L, 82_944L, 3_072L,
                12_384L);
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), doc.get("results").get(i).get("parameters").asLong());
        }
    }

    @Test
    void thePytorchArmRunsWithoutEveryAllocatorSettingTheLauncherExports() throws Exception {
        String launcher = Files.readString(Path.of(System.getProperty("gradguard.root"), "bin", "gradguard"));
        Matcher exported = Pattern.compile("(MALLOC_[A-Z_]+)=\"\\$\\{").matcher(launcher);
        Set<String> names = new TreeSet<>();
        while (exported.find()) {
            names.add(exported.group(1));
        }
        assertEquals(new TreeSet<>(PyTorchComparison.GLIBC_ALLOCATOR_SETTINGS), names);
    }

    @Test
    void aMissingPythonIsOneLineWithExitCode2() {
        assertEquals(2, Main.run("bench", "step", "--vs-pytorch", "--python", tmp.resolve("none").toString(),
                "--models", "gemm", "--steps", "1", "--rounds", "1", "--threads", "1"));
        String error = console.err().strip();
        assertTrue(error.startsWith("gradguard: error: --vs-pytorch needs a Python with PyTorch: " + tmp.resolve("none")
                + " is missing (scripts/pyenv.sh makes the venv"), error);
        assertFalse(error.contains("\n"), error);

        console.reset();
        assertEquals(2, Main.run("bench", "step", "--vs-pytorch", "--models", "gemm", "--steps", "4", "--rounds", "5"));
        assertTrue(console.err().contains("--rounds must be in [1, steps] (each round times at least one step per arm), "
                + "got 5 with --steps 4"), console.err());
    }
}
