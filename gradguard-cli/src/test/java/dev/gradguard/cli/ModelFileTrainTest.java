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
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code train --model-file}: a GRU classifier scripted and saved by real PyTorch 2.13 trained on temporal order. */
class ModelFileTrainTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> NAMES = List.of("bias", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0",
            "rnn.bias_hh_l0", "head.weight", "head.bias");

    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    /** Saves scripts/scripted_model.py's classifier (skipping the test without the venv). */
    private Path scripted(String name, String... options) throws Exception {
        Path file = tmp.resolve(name);
        List<String> args = new ArrayList<>(List.of("save", file.toString()));
        args.addAll(List.of(options));
        RealPython.runScript("torch", "scripted_model.py", args.toArray(new String[0]));
        return file;
    }

    private static int train(Path dir, Path modelFile, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model-file", modelFile.toString(), "--length", "20",
                "--eval-samples", "200", "--threads", "1", "--quiet", "--out", dir.toString()));
        args.addAll(List.of(extra));
        return Main.run(args.toArray(new String[0]));
    }

    private static JsonNode summary(Path dir) throws Exception {
        return JSON.readTree(dir.resolve("summary.json").toFile());
    }

    private static double meanLoss(List<JsonNode> rows) {
        return rows.stream().mapToDouble(r -> r.get("loss").asDouble()).average().orElseThrow();
    }

    @Test
    void aScriptedGruTrainsWithItsLossFallingAndExportsUnderItsOwnNames() throws Exception {
        Path model = scripted("gru.pt");
        Path run = tmp.resolve("run");
        assertEquals(ExitCodes.OK, train(run, model, "--steps", "200", "--clip", "norm:1.0", "--inject-nonfinite", "50"));

        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            rows.add(JSON.readTree(line));
        }
        assertEquals(200, rows.size());
        double first = meanLoss(rows.subList(0, 20));
        double last = meanLoss(rows.subList(180, 200));
        // cross-entropy over 4 classes starts near ln 4 = 1.39
        assertTrue(first > 1.2, "first losses " + first);
        assertTrue(last < 0.7 * first, "loss fell from " + first + " to " + last);
        JsonNode summary = summary(run);
        assertEquals(1, summary.get("skipped_steps").asInt(), "the guard skipped the injected NaN step");
        assertEquals("torchscript", summary.get("config").get("model").asText());
        assertEquals(model.toString(), summary.get("config").get("model-file").asText());
        JsonNode config = JSON.readTree(run.resolve("config.json").toFile());
        assertEquals(20, config.get("length").asInt(), "the task's length, which shapes the model's input, is recorded");
        for (String size : List.of("hidden", "layers", "heads")) {
            assertFalse(config.has(size), "a model file's sizes are its own, so no '" + size + "' is recorded: " + config);
        }

        assertEquals(ExitCodes.OK, Main.run("export", run.toString()));
        JsonNode loaded = RealPython.runScript("safetensors", "scripted_model.py", "load-weights", model.toString(),
                run.resolve("model.safetensors").toString());
        List<String> names = new ArrayList<>();
        loaded.get("names").forEach(n -> names.add(n.asText()));
        assertEquals(NAMES, names);
        assertEquals(summary.get("param_checksum").asText(), loaded.get("param_checksum").asText(),
                "PyTorch's module holds the run's final weights after load_state_dict(strict=True)");
    }

    @Test
    void aResumedRunEndsWithTheWeightsOfAnUninterruptedOne() throws Exception {
        Path model = scripted("gru.pt");
        Path whole = tmp.resolve("whole");
        assertEquals(ExitCodes.OK, train(whole, model, "--steps", "20"));

        Path split = tmp.resolve("split");
        assertEquals(ExitCodes.OK, train(split, model, "--steps", "10", "--checkpoint-every", "10"));
        assertEquals(ExitCodes.OK, Main.run("train", "--resume", "--out", split.toString(), "--steps", "20", "--quiet"));
        assertEquals(summary(whole).get("param_checksum").asText(), summary(split).get("param_checksum").asText());
    }

    @Test
    void anOutputOfTheWrongShapeIsOneLineNamingBothShapesBeforeTheRunDirectoryExists() throws Exception {
        Path model = scripted("five.pt", "--outputs", "5");
        Path run = tmp.resolve("run");
        assertEquals(ExitCodes.USAGE, train(run, model, "--steps", "2"));
        String error = console.err().strip();
        assertEquals("gradguard: error: model file " + model + ": output [2, 5] float32 for input [2, 20, 6] float32, "
                + "but task temporal-order expects [2, 4] (--debug shows details)", error);
        assertFalse(Files.exists(run), "nothing is written for a refused run");
    }

    @Test
    void aModelThatRejectsTheTasksInputIsOneLineWithTheScriptsError() throws Exception {
        Path model = scripted("two.pt", "--inputs", "2");
        assertEquals(ExitCodes.USAGE, train(tmp.resolve("run"), model, "--steps", "2"));
        String error = console.err().strip();
        assertTrue(error.startsWith("gradguard: error: model file " + model + ": forward failed: RuntimeError: input.size(-1) must be equal to input_size. Expected 2, got 6 "),
                error);
        assertTrue(error.contains("(task temporal-order's input [2, 20, 6] float32)"), error);
        assertFalse(error.contains("\n"), error);
    }

    @Test
    void aBuiltInModelNameOrSizeWithAModelFileIsRefused() throws Exception {
        Path model = tmp.resolve("never-read.pt");
        assertEquals(ExitCodes.USAGE, train(tmp.resolve("a"), model, "--model", "gru"));
        assertTrue(console.err().contains("'model-file' is the model: leave out 'model' (gru)"), console.err());
        assertEquals(ExitCodes.USAGE, train(tmp.resolve("b"), model, "--hidden", "16"));
        assertTrue(console.err().contains("leave out 'hidden'"), console.err());
    }
}
