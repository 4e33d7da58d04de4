package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gradguard.testing.ConsoleCapture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class MixedPrecisionCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** 2^20: too large for this run's float16 gradients, so the first steps overflow. */
    private static final String LARGE_SCALE = "1048576";

    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    /** A short, small adding run on one thread: 30 steps unless {@code extra} says otherwise. */
    private int train(Path dir, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--task", "adding", "--hidden", "16", "--length", "10",
                "--eval-samples", "200", "--threads", "1", "--quiet", "--out", dir.toString()));
        if (!List.of(extra).contains("--steps")) {
            args.addAll(List.of("--steps", "30"));
        }
        args.addAll(List.of(extra));
        return Main.run(args.toArray(new String[0]));
    }

    private static JsonNode summary(Path dir) throws Exception {
        return JSON.readTree(dir.resolve("summary.json").toFile());
    }

    private static List<JsonNode> metrics(Path dir) throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("metrics.jsonl"))) {
            rows.add(JSON.readTree(line));
        }
        return rows;
    }

    @Test
    void aBadPrecisionIsAOneLineUsageErrorNamingTheAllowedValues() {
        assertEquals(ExitCodes.USAGE, train(tmp.resolve("bogus"), "--precision", "bogus"));
        assertEquals("gradguard: error: command line: 'precision' must be one of fp32, bf16, fp16, got 'bogus' "
                + "(--debug shows details)", console.err().strip());
        assertFalse(Files.exists(tmp.resolve("bogus")));

        assertEquals(ExitCodes.USAGE, train(tmp.resolve("knob"), "--precision", "bf16", "--loss-scale-init", "1024"));
        assertTrue(console.err().contains("'loss-scale-init' and 'loss-scale-growth-interval' apply to --precision fp16 only, "
                + "not bf16"), console.err());
    }

    @Test
    void aBf16RunFromAConfigFileTrainsWithFiniteWeights() throws Exception {
        Path cfg = tmp.resolve("run.yaml");
        Files.writeString(cfg, "precision: bf16\n");
        Path dir = tmp.resolve("bf16");
        assertEquals(0, train(dir, "--config", cfg.toString()), console.err());
        JsonNode s = summary(dir);
        assertTrue(s.get("params_finite").asBoolean());
        assertTrue(s.get("completed").asBoolean());
        assertEquals("bf16", s.get("config").get("precision").asText());
        assertFalse(s.has("loss_scale"), "bf16 has no loss scale");
        assertFalse(metrics(dir).get(0).has("loss_scale"));
    }

    @Test
    void fp16OverflowsAreSkippedWithoutStoppingTheRunAndResumeExactly() throws Exception {
        String[] flags = {"--precision", "fp16", "--loss-scale-init", LARGE_SCALE, "--loss-scale-growth-interval", "4",
            "--max-nonfinite", "2", "--checkpoint-every", "10", "--clip", "spike-abs:1000,norm:1.0", "--rollback", "5"};
        Path whole = tmp.resolve("whole");
        assertEquals(0, train(whole, flags), console.err());
        JsonNode s = summary(whole);
        assertTrue(s.get("completed").asBoolean());
        assertEquals(0, s.get("nonfinite_steps").asInt(), "overflows are not non-finite steps");
        assertTrue(s.get("skipped_steps").asInt() > 2, "more skips than --max-nonfinite: " + s.get("skipped_steps"));
        assertTrue(s.get("params_finite").asBoolean());
        assertEquals(0, s.get("rollbacks").size(), "an overflow is not a spike to roll back from");
        assertEquals(1048576.0, s.get("config").get("loss-scale-init").asDouble());
        assertEquals(4, s.get("config").get("loss-scale-growth-interval").asInt());

        List<JsonNode> rows = metrics(whole);
        JsonNode first = rows.get(0);
        assertEquals(1048576.0, first.get("loss_scale").asDouble());
        assertTrue(first.get("skipped").asBoolean());
        assertFalse(first.get("nonfinite").asBoolean());
        assertEquals("fp16 gradient overflow: loss scale lowered to 524288", first.get("skip_reason").asText());
        // every line's scale follows from --loss-scale-init and --loss-scale-growth-interval by PyTorch's rule
        double expected = 1048576.0;
        int finiteInARow = 0;
        int growths = 0;
        for (JsonNode row : rows) {
            assertEquals(expected, row.get("loss_scale").asDouble(), row.toString());
            if (row.get("skipped").asBoolean()) {
                expected /= 2;
                finiteInARow = 0;
            } else if (++finiteInARow == 4) {
                expected *= 2;
                finiteInARow = 0;
                growths++;
            }
        }
        assertTrue(growths > 0, "the scale grew after 4 finite steps at least once");
        assertEquals(expected, s.get("loss_scale").asDouble());

        Path resumed = tmp.resolve("resumed");
        assertEquals(0, train(resumed, concat(flags, "--steps", "15")), console.err());
        assertEquals(0, train(resumed, concat(flags, "--steps", "30", "--resume")), console.err());
        assertEquals(s.get("param_checksum").asText(), summary(resumed).get("param_checksum").asText());
        List<JsonNode> again = metrics(resumed);
        assertEquals(rows.size(), again.size());
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(withoutTime(rows.get(i)), withoutTime(again.get(i)), "step " + i);
        }
    }

    private static String[] concat(String[] a, String... b) {
        List<String> all = new ArrayList<>(List.of(a));
        all.addAll(List.of(b));
        return all.toArray(new String[0]);
    }

    private static JsonNode withoutTime(JsonNode row) {
        ObjectNode copy = row.deepCopy();
        copy.remove("time_ms");
        return copy;
    }
}
