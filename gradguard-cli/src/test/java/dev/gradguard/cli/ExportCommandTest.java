package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gradguard.testing.ConsoleCapture;
import dev.gradguard.interop.RealPython;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;

class ExportCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    private static int train(Path dir, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--eval-samples", "200", "--threads", "1", "--quiet",
                "--out", dir.toString()));
        args.addAll(List.of(extra));
        return Main.run(args.toArray(new String[0]));
    }

    private static JsonNode summary(Path dir) throws Exception {
        return JSON.readTree(dir.resolve("summary.json").toFile());
    }

    @Test
    void anExportLoadsStrictlyInPyTorchWithTheRunsChecksumAndInitFromRestoresExactlyThoseWeights() throws Exception {
        Path run = tmp.resolve("run");
        assertEquals(ExitCodes.OK, train(run, "--steps", "20"));
        String checksum = summary(run).get("param_checksum").asText();

        assertEquals(ExitCodes.OK, Main.run("export", run.toString(), "--format", "safetensors"));
        Path file = run.resolve("model.safetensors");
        assertTrue(console.out().contains("Wrote " + file + ": "), console.out());
        assertTrue(console.out().contains("(param_checksum " + checksum + ")"), console.out());

        // temporal order: 6 input symbols, 32 GRU units, 4 classes
        JsonNode loaded = RealPython.runScript("safetensors", "safetensors_check.py", "load", file.toString(), "gru:6:32:4");
        assertEquals(checksum, loaded.get("param_checksum").asText());
        JsonNode metadata = loaded.get("metadata");
        assertEquals("temporal-order", metadata.get("task").asText());
        assertEquals("gru", metadata.get("model").asText());
        assertEquals(JSON.readTree(run.resolve("config.json").toFile()), JSON.readTree(metadata.get("config").asText()));

        // --init-from, then one step that the guard skips (NaN injected at step 0): the weights are the file's
        Path resumed = tmp.resolve("init");
        assertEquals(ExitCodes.OK, train(resumed, "--steps", "1", "--seed", "9", "--init-from", file.toString(),
                "--inject-nonfinite", "0"));
        assertEquals(1, summary(resumed).get("skipped_steps").asInt());
        assertEquals(checksum, summary(resumed).get("param_checksum").asText());
        assertEquals(file.toString(), summary(resumed).get("config").get("init-from").asText());
    }

    @Test
    void aCheckpointExportHoldsThatStepsWeights() throws Exception {
        Path run = tmp.resolve("run");
        assertEquals(ExitCodes.OK, train(run, "--steps", "20", "--checkpoint-every", "10"));
        Path shorter = tmp.resolve("ten");
        assertEquals(ExitCodes.OK, train(shorter, "--steps", "10"));

        assertEquals(ExitCodes.OK, Main.run("export", run.toString(), "--step", "10"));
        assertTrue(Files.exists(run.resolve("model-step-10.safetensors")));
        // the same seed and data: checkpoint 10 of a 20-step run is where a 10-step run ends
        assertTrue(console.out().contains("(param_checksum " + summary(shorter).get("param_checksum").asText() + ")"),
                console.out());
    }

    @Test
    void aMismatchedInitFromIsRefusedInOneLineBeforeTheRunDirectoryExists() throws Exception {
        Path run = tmp.resolve("run");
        assertEquals(ExitCodes.OK, train(run, "--steps", "2"));
        Path file = tmp.resolve("w.safetensors");
        assertEquals(ExitCodes.OK, Main.run("export", run.toString(), "--out", file.toString()));

        Path other = tmp.resolve("other");
        assertEquals(ExitCodes.USAGE, train(other, "--steps", "2", "--hidden", "16", "--init-from", file.toString()));
        String error = console.err().strip();
        assertTrue(error.startsWith("gradguard: error: " + file + ": does not fit the model: different "
                + "rnn.weight_ih_l0 shape [96, 6] in the file, [48, 6] in the model"), error);
        assertFalse(error.contains("\n"), error);
        assertFalse(Files.exists(other), "nothing is written for a refused run");
    }

    @Test
    void exportErrorsAreOneLineWithExitCode2() throws Exception {
        assertEquals(ExitCodes.USAGE, Main.run("export", tmp.resolve("absent").toString()));
        assertTrue(console.err().contains("is not a gradguard run directory (it has no .gradguard-run marker or no config.json)"), console.err());

        Path run = tmp.resolve("run");
        assertEquals(ExitCodes.OK, train(run, "--steps", "4", "--checkpoint-every", "2"));
        console.reset();
        assertEquals(ExitCodes.USAGE, Main.run("export", run.toString(), "--step", "3"));
        assertTrue(console.err().contains("--step 3: " + run + " has no checkpoint of that step (it has: 2, 4)"),
                console.err());

        Files.writeString(run.resolve("model.safetensors"), "x");
        assertEquals(ExitCodes.USAGE, Main.run("export", run.toString()));
        assertTrue(console.err().contains("already exists; remove it or name another file"), console.err());
        assertEquals(ExitCodes.USAGE, Main.run("export", run.toString(), "--format", "onnx", "--out",
                tmp.resolve("w").toString()));
        assertTrue(console.err().contains("--format onnx is not supported (allowed: safetensors)"), console.err());
        assertEquals(1, console.err().strip().lines().filter(l -> l.contains("onnx")).count());
    }
}
