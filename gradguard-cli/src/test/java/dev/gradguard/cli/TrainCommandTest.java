package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gradguard.interop.SafeTensors;
import dev.gradguard.testing.ConsoleCapture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class TrainCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    /** A short temporal-order run: few steps, small evaluation, one thread. */
    private int train(Path dir, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("train", "--steps", "30", "--eval-samples", "200",
                "--threads", "1", "--quiet", "--json", "--out", dir.toString()));
        args.addAll(List.of(extra));
        return Main.run(args.toArray(new String[0]));
    }

    private JsonNode summary(Path dir) throws Exception {
        return JSON.readTree(dir.resolve("summary.json").toFile());
    }

    @Test
    void aRunWithInjectedNaNsSkipsExactlyThoseStepsAndKeepsTheWeightsFinite() throws Exception {
        Path dir = tmp.resolve("run");
        assertEquals(0, train(dir, "--inject-nonfinite", "5,10,15"), console.err());
        JsonNode s = summary(dir);
        assertEquals(3, s.get("skipped_steps").asInt());
        assertTrue(s.get("params_finite").asBoolean());
        assertEquals(30, s.get("steps").asInt());
        assertEquals(64, s.get("param_checksum").asText().length());
        assertEquals("cpu", s.get("device").asText(), "--device auto trains on the CPU without a usable GPU");
        assertEquals(s, JSON.readTree(console.out()), "--json prints summary.json");
        // the recorded configuration holds what the run used, not "auto" or 0 for "the task's default"
        assertEquals("gru", s.get("config").get("model").asText());
        assertEquals(32, s.get("config").get("hidden").asInt());
        assertEquals(100, s.get("config").get("length").asInt());
        assertFalse(s.get("config").has("layers") || s.get("config").has("heads"), "they size a transformer only: "
                + s.get("config"));
        assertEquals(0.0, s.get("config").get("weight-decay").asDouble(), "PyTorch's SGD default, not the word default");
        assertTrue(s.get("config").get("weight-decay").isNumber());
        assertEquals(s.get("config"), JSON.readTree(dir.resolve("config.json").toFile()));

        List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertEquals(30, lines.size());
        List<Integer> skipped = lines.stream().map(l -> {
            try {
                return JSON.readTree(l);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).filter(n -> n.get("skipped").asBoolean()).map(n -> n.get("step").asInt()).collect(Collectors.toList());
        assertEquals(List.of(5, 10, 15), skipped);
        JsonNode first = JSON.readTree(lines.get(0));
        for (String key : List.of("step", "loss", "grad_norm", "grad_norm_clipped", "clipped", "clip_coef", "lr",
                "skipped", "time_ms")) {
            assertTrue(first.has(key), key);
        }
        assertTrue(Files.size(dir.resolve("model.pt")) > 0);
    }

    @Test
    void twoRunsWithTheSameSeedHaveTheSameChecksum() throws Exception {
        assertEquals(0, train(tmp.resolve("a"), "--seed", "3"), console.err());
        assertEquals(0, train(tmp.resolve("b"), "--seed", "3"), console.err());
        assertEquals(0, train(tmp.resolve("c"), "--seed", "4"), console.err());
        String a = summary(tmp.resolve("a")).get("param_checksum").asText();
        assertEquals(a, summary(tmp.resolve("b")).get("param_checksum").asText());
        assertFalse(a.equals(summary(tmp.resolve("c")).get("param_checksum").asText()));
    }

    @Test
    void anExistingRunIsNotOverwrittenWithoutOverwrite() throws Exception {
        Path dir = tmp.resolve("taken");
        assertEquals(0, train(dir), console.err());
        String first = Files.readString(dir.resolve("summary.json"));
        console.reset();
        assertEquals(ExitCodes.USAGE, train(dir));
        assertEquals(first, Files.readString(dir.resolve("summary.json")));
        assertTrue(console.err().contains("already holds files (.gradguard-run, checkpoints, config.json, "), console.err());
        assertTrue(console.err().contains("it is an earlier run: resume it, overwrite it, or choose another directory"),
                console.err());
        assertFalse(console.err().contains("\tat "), "no stack trace without --debug");

        assertEquals(0, train(dir, "--overwrite", "--seed", "9"), console.err());
        assertFalse(first.equals(Files.readString(dir.resolve("summary.json"))), "the overwriting run's summary");
    }

    @Test
    void misspelledFlagsAreUsageErrorsWithASuggestion() {
        assertEquals(ExitCodes.USAGE, Main.run("train", "--lrr", "0.1"));
        assertTrue(console.err().startsWith("gradguard: error: Unknown options: '--lrr', '0.1' (did you mean --lr?); "
                + "see 'gradguard train --help'"), console.err());
        assertEquals(1, console.err().lines().count(), console.err());
    }

    @Test
    void badValuesAndNamesAreOneLineUsageErrors() {
        assertEquals(ExitCodes.USAGE, train(tmp.resolve("x"), "--lr", "NaN"));
        assertTrue(console.err().contains("gradguard: error: command line: 'lr' must be a finite number > 0 and <= 3.4028234663852886E38 (the largest float32: parameters and updates are float32), got 'NaN'"), console.err());
        assertEquals(ExitCodes.USAGE, train(tmp.resolve("y"), "--task", "sorting"));
        assertTrue(console.err().contains("sorting"), console.err());
        assertEquals(ExitCodes.USAGE, train(tmp.resolve("z"), "--clip", "norm:-1"));
        assertTrue(console.err().contains("clip policy 'norm:-1'"), console.err());
        assertEquals(ExitCodes.USAGE, train(tmp.resolve("w"), "--clip", "nrom:1"));
        assertTrue(console.err().contains("unknown clip policy 'nrom:1'"), console.err());
        assertFalse(console.err().contains("\tat "), "no stack trace without --debug");
    }

    @Test
    void aMissingDataFileIsADataError() {
        assertEquals(ExitCodes.DATA, train(tmp.resolve("lm"), "--task", "charlm", "--data", tmp.resolve("none.txt").toString()));
        assertTrue(console.err().contains("none.txt"), console.err());
    }

    @Test
    void aConfigFileWithAnUnknownKeyIsAUsageError() throws Exception {
        Path cfg = tmp.resolve("run.yaml");
        Files.writeString(cfg, "stpes: 10\n");
        assertEquals(ExitCodes.USAGE, train(tmp.resolve("c"), "--config", cfg.toString()));
        assertTrue(console.err().contains("unknown key 'stpes' in " + cfg + " (did you mean 'steps'?)"), console.err());
    }

    @Test
    void tooManyNonFiniteStepsStopWithExitCode5AndTheLastGoodWeightsOnDisk() throws Exception {
        Path dir = tmp.resolve("diverged");
        int code = train(dir, "--inject-nonfinite", "3,4,5,6,7,8,9", "--max-nonfinite", "4");
        assertEquals(ExitCodes.DIVERGED, code, console.err());
        JsonNode s = summary(dir);
        assertFalse(s.get("completed").asBoolean());
        assertEquals(7, s.get("steps").asInt(), "steps 0-2 applied, 3-6 non-finite; the fourth stops the run");
        assertTrue(s.get("stop_reason").asText().startsWith("4 consecutive steps had a non-finite loss, gradient or update"));
        assertTrue(s.get("params_finite").asBoolean());
        assertTrue(Files.size(dir.resolve("model.pt")) > 0);
        assertTrue(console.err().contains("Training stopped early after 7 steps"), console.err());
        assertEquals(7, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
    }

    /** The losses of a run's metrics.jsonl, in step order. */
    private static double[] losses(Path dir) throws Exception {
        return Files.readAllLines(dir.resolve("metrics.jsonl")).stream()
                .mapToDouble(line -> {
                    try {
                        return JSON.readTree(line).get("loss").asDouble();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }).toArray();
    }

    /**
     * The step at which steps with a loss above 10x the first outnumber those not above it by 100 (the count never
     * below zero), or -1: the rule, written here.
     */
    private static int hundredMoreAboveTenTimesTheFirst(double[] loss) {
        int count = 0;
        for (int i = 1; i < loss.length; i++) {
            count = loss[i] > 10 * loss[0] ? count + 1 : Math.max(0, count - 1);
            if (count == 100) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void aRunWhoseLossRunsAwayWhileFiniteStopsEarlyAsDiverged() throws Exception {
        Path unstopped = tmp.resolve("unstopped");
        assertEquals(0, Main.run(diverging(unstopped, "--divergence-stop", "off")), console.err());
        double[] reference = losses(unstopped);
        int expectedStop = hundredMoreAboveTenTimesTheFirst(reference);
        assertTrue(expectedStop > 0 && expectedStop < 150, "the reference run diverges early: " + expectedStop);

        Path stopped = tmp.resolve("stopped");
        assertEquals(ExitCodes.DIVERGED, Main.run(diverging(stopped)), console.err());
        JsonNode s = summary(stopped);
        assertFalse(s.get("completed").asBoolean());
        assertEquals(expectedStop + 1, s.get("steps").asInt(), "the default 10:100 stops when the count reaches 100");
        assertTrue(s.get("stop_reason").asText().startsWith("diverged: the loss stayed above 10 times the first step's"),
                s.get("stop_reason").asText());
        assertTrue(s.get("params_finite").asBoolean());
        double[] loss = losses(stopped);
        assertEquals(expectedStop + 1, loss.length);
        for (int i = 0; i < loss.length; i++) {
            assertEquals(reference[i], loss[i], 0.0, "same seed, same steps until the stop: step " + i);
        }
    }

    @Test
    void theDefaultJobIsNotStoppedByTheDivergenceStopAndLearns() throws Exception {
        Path dir = tmp.resolve("default-job");
        assertEquals(0, Main.run("train", "--threads", "1", "--quiet", "--json", "--eval-samples", "1000", "--out",
                dir.toString()), console.err());
        JsonNode s = summary(dir);
        assertTrue(s.get("completed").asBoolean(), s.toString());
        assertEquals(1500, s.get("steps").asInt());
        assertTrue(s.get("learned").asBoolean(), s.toString());
        assertEquals(-1, hundredMoreAboveTenTimesTheFirst(losses(dir)));
    }

    /** Element-wise clipping at lr 3 keeps the adding GRU's weights finite while its loss climbs from 1.7 to ~1000. */
    private static String[] diverging(Path dir, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("train", "--task", "adding", "--clip", "value:0.5", "--lr", "3",
                "--steps", "200", "--eval-samples", "200", "--threads", "1", "--quiet", "--json", "--out", dir.toString()));
        args.addAll(List.of(extra));
        return args.toArray(new String[0]);
    }

    @Test
    void theDefaultControllerIsAutoOnAThresholdAndNoneWithoutOneUnlessAsked() throws Exception {
        Path byDefault = tmp.resolve("default");
        assertEquals(0, train(byDefault), console.err());
        assertEquals("norm:1.0", summary(byDefault).get("config").get("clip").asText());
        assertEquals("auto", summary(byDefault).get("config").get("controller").asText());

        Path unclipped = tmp.resolve("unclipped");
        assertEquals(0, train(unclipped, "--clip", "none"), console.err());
        assertEquals("none", summary(unclipped).get("config").get("controller").asText(),
                "the default controller has no threshold to act on, so the run has none");

        assertEquals(ExitCodes.USAGE, train(tmp.resolve("asked"), "--clip", "none", "--controller", "auto"));
        assertTrue(console.err().contains("the auto controller needs a clip policy with a threshold it can act on"),
                console.err());
    }

    @Test
    void charlmTrainsOnATextFileAndReportsBitsPerChar() throws Exception {
        Path text = Path.of("src/test/resources/charlm/tiny.txt");
        Path dir = tmp.resolve("lm");
        assertEquals(0, train(dir, "--task", "charlm", "--data", text.toString(), "--hidden", "16",
                "--optimizer", "adam", "--lr", "0.01", "--length", "16", "--batch-size", "8"), console.err());
        JsonNode s = summary(dir);
        assertEquals("charlm", s.get("task").asText());
        assertEquals("bits_per_char", s.get("metric").asText());
        double bpc = s.get("metric_value").asDouble();
        double baseline = s.get("baseline_value").asDouble();
        assertTrue(bpc > 0 && bpc < 10, "bpc " + bpc);
        assertTrue(baseline > 3 && baseline < 6, "unigram entropy of English-like text, got " + baseline);
        assertEquals(16, s.get("config").get("hidden").asInt());
    }

    @Test
    void charlmTrainsATinyTransformerAndSavesIt() throws Exception {
        Path text = Path.of("src/test/resources/charlm/tiny.txt");
        Path dir = tmp.resolve("gpt");
        assertEquals(0, train(dir, "--task", "charlm", "--model", "transformer", "--data", text.toString(), "--hidden", "8",
                "--layers", "1", "--heads", "2", "--length", "16", "--batch-size", "4"), console.err());
        JsonNode s = summary(dir);
        assertEquals("transformer", s.get("model").asText());
        assertEquals("adamw", s.get("config").get("optimizer").asText(), "the task's default for a transformer");
        assertEquals(1, s.get("config").get("layers").asInt());
        assertEquals(2, s.get("config").get("heads").asInt());
        assertEquals(0.01, s.get("config").get("weight-decay").asDouble(), "PyTorch's AdamW default");
        assertTrue(s.get("params_finite").asBoolean());
        assertTrue(Files.size(dir.resolve("model.pt")) > 0);
        List<String> metrics = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertEquals(30, metrics.size());
        assertTrue(JSON.readTree(metrics.get(0)).get("lr").asDouble() < 3e-3, "the warm-up starts below the peak");
    }

    @Test
    void aTransformerRunRecordsTheTasksDefaultLayersAndHeadsWhenNotGiven() throws Exception {
        Path dir = tmp.resolve("transformer");
        assertEquals(0, train(dir, "--model", "transformer", "--length", "12", "--batch-size", "8"), console.err());
        JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
        // temporal-order's transformer: width 32, 2 blocks of 4 heads (SyntheticSequenceTask)
        assertEquals(List.of(32, 2, 4, 12), List.of(config.get("hidden").asInt(), config.get("layers").asInt(),
                config.get("heads").asInt(), config.get("length").asInt()));
        assertEquals(config, summary(dir).get("config"));
    }

    @Test
    void aGruRunRecordedWithZeroLayersAndHeadsByAnEarlierVersionResumesAndExportsWithoutThem() throws Exception {
        Path whole = tmp.resolve("whole");
        assertEquals(0, Main.run("train", "--steps", "20", "--eval-samples", "200", "--threads", "1", "--quiet",
                "--out", whole.toString()), console.err());
        Path split = tmp.resolve("split");
        assertEquals(0, Main.run("train", "--steps", "10", "--checkpoint-every", "10", "--eval-samples", "200",
                "--threads", "1", "--quiet", "--out", split.toString()), console.err());
        // what earlier versions wrote for a recurrent model: placeholders for the transformer's sizes
        JsonNode recorded = JSON.readTree(split.resolve("config.json").toFile());
        assertFalse(recorded.has("layers") || recorded.has("heads"), recorded.toString());
        ObjectNode earlier = recorded.deepCopy();
        earlier.put("layers", 0);
        earlier.put("heads", 0);
        Files.writeString(split.resolve("config.json"), earlier.toPrettyString());

        assertEquals(0, Main.run("train", "--resume", "--steps", "20", "--quiet", "--out", split.toString()), console.err());
        JsonNode resumed = summary(split);
        assertEquals(summary(whole).get("param_checksum").asText(), resumed.get("param_checksum").asText(),
                "the resumed run ends with the uninterrupted run's weights");
        assertEquals(((ObjectNode) recorded.deepCopy()).put("steps", 20), resumed.get("config"), "its summary holds no placeholder");

        Path file = tmp.resolve("split.safetensors");
        assertEquals(0, Main.run("export", split.toString(), "--out", file.toString()), console.err());
        JsonNode exported = JSON.readTree(SafeTensors.read(file).metadata().get("config"));
        assertEquals(recorded, exported, "the export's metadata holds the settings as read, with no placeholder");
    }

    @Test
    void aConfigFileSetsTheRunAndFlagsOverrideIt() throws Exception {
        Path cfg = tmp.resolve("run.json");
        Files.writeString(cfg, "{\"task\": \"adding\", \"lr\": 0.05, \"clip\": \"value:0.5\", \"hidden\": 8}");
        Path dir = tmp.resolve("cfg");
        assertEquals(0, train(dir, "--config", cfg.toString(), "--lr", "0.1"), console.err());
        JsonNode c = summary(dir).get("config");
        assertEquals("adding", c.get("task").asText());
        assertEquals(0.1, c.get("lr").asDouble());
        assertEquals("value:0.5", c.get("clip").asText());
        assertEquals("gru", c.get("model").asText(), "auto resolves to the task's default model");
        assertEquals("test_mse", summary(dir).get("metric").asText());
    }

    @Test
    void aRunWritesATensorBoardEventFileWithEveryStepAndTheEvaluation() throws Exception {
        Path dir = tmp.resolve("tb");
        assertEquals(0, train(dir, "--grad-norm-every", "10", "--inject-nonfinite", "4"), console.err());
        List<Path> files = dev.gradguard.metrics.tensorboard.EventFileReader.eventFiles(dir);
        assertEquals(1, files.size());
        List<dev.gradguard.metrics.tensorboard.Event> events = dev.gradguard.metrics.tensorboard.EventFileReader.readAll(files.get(0));
        assertEquals("brain.Event:2", events.get(0).fileVersion().orElseThrow());
        java.util.Map<String, java.util.List<Long>> stepsByTag = new java.util.TreeMap<>();
        java.util.Map<String, Double> lastValue = new java.util.HashMap<>();
        for (var e : events) {
            for (var v : e.values()) {
                stepsByTag.computeIfAbsent(v.tag(), t -> new java.util.ArrayList<>()).add(e.step());
                v.scalar().ifPresent(x -> lastValue.put(v.tag() + "@" + e.step(), x));
            }
        }
        List<Long> all = java.util.stream.LongStream.range(0, 30).boxed().toList();
        for (String tag : List.of("train/loss", "train/grad_norm", "train/grad_norm_clipped", "train/clip_coef",
                "train/lr", "train/clipped", "train/skipped")) {
            assertEquals(all, stepsByTag.get(tag), tag);
        }
        assertEquals(1.0, lastValue.get("train/skipped@4"));
        assertEquals(0.0, lastValue.get("train/skipped@5"));
        assertEquals(List.of(0L, 10L, 20L), stepsByTag.get("grad_norm/per_parameter"));
        assertEquals(List.of(0L, 10L, 20L), stepsByTag.get("grad_norm/rnn.weight_hh_l0"));
        assertEquals(summary(dir).get("metric_value").asDouble(), lastValue.get("eval/error_rate@30"), 1e-6);
    }

    @Test
    void gradNormEveryZeroWritesNoPerParameterNorms() throws Exception {
        Path dir = tmp.resolve("tb-never");
        assertEquals(0, train(dir, "--grad-norm-every", "0"), console.err());
        List<Path> files = dev.gradguard.metrics.tensorboard.EventFileReader.eventFiles(dir);
        java.util.Set<String> tags = new java.util.TreeSet<>();
        for (var e : dev.gradguard.metrics.tensorboard.EventFileReader.readAll(files.get(0))) {
            e.values().forEach(v -> tags.add(v.tag()));
        }
        assertTrue(tags.contains("train/grad_norm"), tags.toString());
        assertTrue(tags.stream().noneMatch(t -> t.startsWith("grad_norm/")), tags.toString());
    }

    @Test
    void dashboardServesTheRunWhileItTrainsAndATakenPortIsAUsageError() throws Exception {
        Path dir = tmp.resolve("runs").resolve("live");
        assertEquals(0, train(dir, "--dashboard", "0"), console.err());
        assertTrue(console.err().contains("gradguard: live dashboard at http://127.0.0.1:"), console.err());
        assertTrue(console.err().contains("/run/live"), console.err());

        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Path other = tmp.resolve("runs").resolve("other");
            assertEquals(ExitCodes.USAGE, train(other, "--dashboard", Integer.toString(taken.getLocalPort())));
            assertTrue(console.err().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()), console.err());
            assertFalse(Files.exists(other), "nothing was written");
        }
    }

    @Test
    void aSpikeRollsTheRunBackToItsLastCheckpointAndSkipsTheBatchesSince() throws Exception {
        Path dir = tmp.resolve("rollback");
        // adding at lr 0.5 spikes early; any pre-clip norm above 3 counts as a spike here
        assertEquals(0, train(dir, "--task", "adding", "--lr", "0.5", "--clip", "spike-abs:3,norm:1.0",
                "--checkpoint-every", "5", "--rollback", "50"), console.err());
        JsonNode s = summary(dir);
        JsonNode rollbacks = s.get("rollbacks");
        assertTrue(rollbacks.size() > 0, s.toString());
        for (JsonNode r : rollbacks) {
            assertTrue(r.get("to_checkpoint_step").asLong() <= r.get("step").asLong());
            assertEquals(r.get("step").asLong() + 1 - r.get("to_checkpoint_step").asLong(), r.get("skipped_batches").asLong());
            assertTrue(r.get("reason").asText().contains("3.0"), r.toString());
        }
        assertEquals(30, s.get("steps").asInt());
        assertEquals(30, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
        assertTrue(console.err().contains("rolled back to the checkpoint of step"), console.err());

        Path limited = tmp.resolve("limited");
        assertEquals(ExitCodes.DIVERGED, train(limited, "--task", "adding", "--lr", "0.5", "--clip", "spike-abs:0.001",
                "--checkpoint-every", "2", "--rollback", "2"), console.err());
        assertTrue(summary(limited).get("stop_reason").asText().startsWith("gave up after 2 rollbacks"));

        assertEquals(ExitCodes.USAGE, train(tmp.resolve("nospike"), "--rollback", "3"));
        assertTrue(console.err().contains("--rollback needs a spike guard in --clip"), console.err());
    }

    @Test
    void aRunThatClipsHardOnMostStepsStaysCalmOnTheConsoleAndSaysWhatToDoNext() throws Exception {
        Path dir = tmp.resolve("calm");
        // adding at its default learning rate clips hard (coefficient < 0.1) on most steps
        assertEquals(0, Main.run("train", "--task", "adding", "--steps", "300", "--length", "20", "--eval-samples", "200",
                "--threads", "1", "--out", dir.toString()), console.err());
        List<String> err = console.err().lines().toList();
        long troubled = Files.readAllLines(dir.resolve("metrics.jsonl")).stream().filter(l -> l.contains("\"attribution\""))
                .count();
        assertTrue(troubled > 30, "the run really is troubled on many steps: " + troubled);
        assertTrue(err.size() <= 30, err.size() + " lines:\n" + console.err());
        assertTrue(err.get(0).startsWith("gradguard: training adding/"), err.get(0));
        assertTrue(err.get(0).contains(" parameters, on cpu with 1 thread(s), into " + dir), err.get(0));
        assertTrue(err.get(1).startsWith("gradguard: watch it: tensorboard --logdir " + dir), err.get(1));
        assertTrue(console.out().contains("Next: 'gradguard report " + dir + "'"), console.out());
    }
}
