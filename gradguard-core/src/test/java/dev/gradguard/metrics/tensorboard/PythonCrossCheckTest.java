package dev.gradguard.metrics.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads a written file with {@code scripts/tfevents_dump.py}, a standard-library decoder that shares no code
 * with {@link EventFileReader}. Skipped where no {@code python3} runs.
 */
class PythonCrossCheckTest {
    private static final Path SCRIPT = Path.of(System.getProperty("gradguard.root", ".."), "scripts", "tfevents_dump.py");

    @TempDir
    Path dir;

    @Test
    void anIndependentPythonDecoderReadsTheSameEvents() throws IOException, InterruptedException {
        double[] values = {0.25, 7.0, -1e-9, 7.0, 0.0};
        Path file;
        try (EventFileWriter w = new EventFileWriter(dir, Duration.ZERO)) {
            w.addScalar("train/loss", 0.5, 3, 10.25);
            w.addHistogram("grad_norm/per_parameter", values, 3, 10.25);
            file = w.file();
        }
        List<JsonNode> events = dump(file);
        assertEquals(3, events.size());
        assertEquals("brain.Event:2", events.get(0).get("file_version").asText());

        JsonNode scalar = events.get(1);
        assertEquals(10.25, scalar.get("wall_time").asDouble());
        assertEquals(3, scalar.get("step").asLong());
        assertEquals("train/loss", scalar.get("values").get(0).get("tag").asText());
        assertEquals(0.5, scalar.get("values").get(0).get("simple_value").asDouble());

        JsonNode histo = events.get(2).get("values").get(0).get("histo");
        Histogram expected = Histogram.of(values);
        assertEquals(expected.min(), histo.get("min").asDouble());
        assertEquals(expected.max(), histo.get("max").asDouble());
        assertEquals(5.0, histo.get("num").asDouble());
        assertEquals(expected.sum(), histo.get("sum").asDouble());
        assertEquals(expected.sumSquares(), histo.get("sum_squares").asDouble());
        assertEquals(expected.bucketLimits(), doubles(histo.get("bucket_limit")));
        assertEquals(expected.bucketCounts(), doubles(histo.get("bucket")));
        assertEquals(5.0, doubles(histo.get("bucket")).stream().mapToDouble(Double::doubleValue).sum());
    }

    private static List<JsonNode> dump(Path file) throws IOException, InterruptedException {
        assertTrue(Files.exists(SCRIPT), SCRIPT + " not found; the tests run from the project root");
        Process p;
        try {
            p = new ProcessBuilder("python3", SCRIPT.toString(), file.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            p = Assumptions.abort("python3 is not available: " + e.getMessage());
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        Assumptions.assumeTrue(p.waitFor(30, TimeUnit.SECONDS), "python3 did not finish");
        assertEquals(0, p.exitValue(), out);
        JsonMapper json = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
        List<JsonNode> events = new ArrayList<>();
        for (String line : out.strip().split("\n")) {
            events.add(json.readTree(line));
        }
        return events;
    }

    private static List<Double> doubles(JsonNode array) {
        List<Double> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asDouble()));
        return out;
    }
}
