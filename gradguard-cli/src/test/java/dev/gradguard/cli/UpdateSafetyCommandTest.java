package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gradguard.testing.ConsoleCapture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Issue 13, section 2: finite gradients with an overflowing update must not reach the weights. */
class UpdateSafetyCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @Test
    void aLearningRateThatOverflowsTheUpdateLeavesTheWeightsFiniteAndSaysWhy() throws Exception {
        Path dir = tmp.resolve("run");
        int exit = Main.run("train", "--task", "adding", "--steps", "5", "--lr", "3e38", "--clip", "none",
                "--momentum", "0", "--threads", "1", "--quiet", "--json", "--out", dir.toString());

        assertEquals(0, exit, console.err());
        JsonNode summary = JSON.readTree(dir.resolve("summary.json").toFile());
        assertTrue(summary.get("params_finite").asBoolean(), summary.toString());
        List<JsonNode> skipped = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("metrics.jsonl"))) {
            JsonNode step = JSON.readTree(line);
            if (step.get("skipped").asBoolean()) {
                skipped.add(step);
            }
        }
        assertTrue(!skipped.isEmpty(), "the overflowing updates are skipped");
        for (JsonNode step : skipped) {
            assertEquals("update", step.get("skip_code").asText(), step.toString());
            assertTrue(step.get("nonfinite").asBoolean(), step.toString());
            assertTrue(step.get("skip_reason").asText().startsWith("the update made parameter "), step.toString());
        }
        assertEquals(skipped.size(), summary.get("skipped_steps").asInt());
    }
}
