package dev.gradguard.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gradguard.cli.ExitCodes;
import dev.gradguard.cli.Main;
import dev.gradguard.metrics.tensorboard.TensorBoardListener;
import dev.gradguard.testing.ConsoleCapture;
import dev.gradguard.interop.RealPython;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A run's event file as TensorBoard 2.21 itself reads it: its EventAccumulator and its HParams plugin's parsers. */
class TensorBoardReadsTheRunTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** train/* tag -> metrics.jsonl key. */
    private static final Map<String, String> TRAIN_TAGS = Map.of("train/loss", "loss", "train/grad_norm", "grad_norm",
            "train/grad_norm_clipped", "grad_norm_clipped", "train/clip_coef", "clip_coef", "train/lr", "lr",
            "train/clipped", "clipped", "train/skipped", "skipped");

    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @Test
    void scalarsTroubledLayersAndHParamsReadInTensorBoardAsTheRunWroteThem() throws Exception {
        RealPython.requireModule("tensorboard");
        Path run = tmp.resolve("run");
        assertEquals(ExitCodes.OK, Main.run("train", "--steps", "30", "--eval-samples", "200", "--threads", "1",
                "--quiet", "--inject-nonfinite", "10,20", "--out", run.toString()));
        JsonNode read = RealPython.runScript("tensorboard", "tensorboard_read.py", run.toString());
        JsonNode scalars = read.get("scalars");

        // every train/* scalar at every step equals metrics.jsonl's value, as a float32
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            rows.add(JSON.readTree(line));
        }
        assertEquals(30, rows.size());
        for (Map.Entry<String, String> tag : TRAIN_TAGS.entrySet()) {
            JsonNode points = scalars.get(tag.getKey());
            assertEquals(rows.size(), points.size(), tag.getKey());
            for (int i = 0; i < rows.size(); i++) {
                JsonNode expected = rows.get(i).get(tag.getValue());
                float value = expected.isBoolean() ? (expected.asBoolean() ? 1f : 0f)
                        : expected.isTextual() ? Float.parseFloat(expected.asText()) : (float) expected.asDouble();
                assertEquals(rows.get(i).get("step").asLong(), points.get(i).get(0).asLong(), tag.getKey());
                assertEquals(value, number(points.get(i).get(1)), tag.getKey() + " at step " + i);
            }
        }

        // the injected steps' attribution plots: finite numbers under a group after train/, and no empty charts
        List<String> tags = new ArrayList<>();
        scalars.fieldNames().forEachRemaining(tags::add);
        assertTrue(tags.stream().noneMatch(t -> t.startsWith("exploded/")), tags.toString());
        for (String tag : tags) {
            boolean anyFinite = false;
            for (JsonNode point : scalars.get(tag)) {
                anyFinite |= Float.isFinite(number(point.get(1)));
            }
            assertTrue(anyFinite, tag + " has no finite value: an empty chart");
        }
        JsonNode counts = scalars.get(TensorBoardListener.TROUBLE_NONFINITE + "rnn.weight_ih_l0");
        assertEquals("[[10,576.0],[20,576.0]]", counts.toString(), "every element of the 96x6 gradient is NaN");
        JsonNode finiteNorms = scalars.get(TensorBoardListener.TROUBLE_NORM + "head.weight");
        assertEquals("[[10,0.0],[20,0.0]]", finiteNorms.toString(), "no finite element: the finite part's norm is 0");
        String group = TensorBoardListener.TROUBLE_NORM.substring(0, TensorBoardListener.TROUBLE_NORM.indexOf('/'));
        assertTrue(group.compareTo("train") > 0, group + " sorts after train in TensorBoard");

        // HParams: the run's config and its final metric, parsed by the HParams plugin
        JsonNode hparams = read.get("hparams");
        JsonNode config = JSON.readTree(run.resolve("summary.json").toFile()).get("config");
        assertEquals("[\"eval/error_rate\",\"train/loss\"]", hparams.get("experiment").get("metrics").toString());
        assertTrue(scalars.has("eval/error_rate"), "the metric the HParams tab shows is a scalar of the run");
        JsonNode start = hparams.get("session_start");
        assertEquals(config.size(), start.size());
        assertEquals(config.size(), hparams.get("experiment").get("hparams").size());
        config.fieldNames().forEachRemaining(key -> {
            JsonNode want = config.get(key);
            JsonNode got = start.get(key);
            if (want.isNumber()) {
                assertEquals(want.asDouble(), got.asDouble(), key);
            } else if (want.isBoolean()) {
                assertEquals(want.asBoolean(), got.asBoolean(), key);
            } else if (want.isArray()) {
                List<String> items = new ArrayList<>();
                want.forEach(v -> items.add(v.asText()));
                assertEquals(String.join(",", items), got.asText(), key);
            } else {
                assertEquals(want.asText(), got.asText(), key);
            }
        });
        assertEquals("gru", start.get("model").asText());
        assertEquals("10,20", start.get("inject-nonfinite").asText());
        assertEquals("STATUS_SUCCESS", hparams.get("session_end").get("status").asText());
        assertFalse(hparams.get("session_end").has("error"));
    }

    private static float number(JsonNode v) {
        return v.isTextual() ? Float.parseFloat(v.asText()) : (float) v.asDouble();
    }
}
