package dev.gradguard.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.metrics.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainSettingsTest {
    @TempDir
    Path tmp;

    private static String error(Map<String, ?> overrides) {
        return assertThrows(IllegalArgumentException.class,
                () -> TrainSettings.of(overrides, "run.yaml")).getMessage();
    }

    @Test
    void flagsOverrideTheFileWhichOverridesTheDefaults() throws Exception {
        Path yaml = tmp.resolve("run.yaml");
        Files.writeString(yaml, "lr: 0.25\nbatch_size: 8\nclip: value:0.5\ninject-nonfinite: [3, 5]\n");
        SettingsLayers given = SettingsLayers.none()
                .with(ConfigFiles.read(yaml), yaml.toString())
                .with(Map.of("lr", "0.125"), "command line");
        TrainSettings s = given.resolve();
        assertEquals(0.125, s.optimization().lr());
        assertEquals(8, s.loop().batchSize());
        assertEquals("value:0.5", s.guard().clip());
        assertEquals(List.of(3L, 5L), s.guard().injectNonfinite());
        assertEquals(1500, s.loop().steps());
        assertEquals(new TrainSettings(ProblemSettings.DEFAULTS, new OptimizationSettings("sgd", 0.125, 0.9, false,
                OptimizationSettings.WeightDecay.PYTORCH_DEFAULT, "constant"), new LoopSettings(1500, 8, 1, 0, ""),
                new GuardSettings("value:0.5", "none", 20, "10:100", List.of(3L, 5L)), ComputeSettings.DEFAULTS,
                CheckpointSettings.DEFAULTS, MetricsSettings.DEFAULTS), s, "every other key keeps its default");
        assertTrue(given.gives("batch-size") && given.gives("lr") && !given.gives("steps"), "batch_size is batch-size");
    }

    @Test
    void aTransformerTakesItsTasksTrainingDefaultsWhereNothingElseSetsThem() throws Exception {
        SettingsLayers transformer = SettingsLayers.none().with(Map.of("task", "charlm", "model", "transformer"), "command line");
        TrainSettings lm = transformer.resolve();
        assertEquals("adamw", lm.optimization().name());
        assertEquals(3e-3, lm.optimization().lr());
        assertEquals("warmup:30", lm.optimization().schedule());
        assertEquals(300, lm.loop().steps());
        assertEquals(32, lm.loop().batchSize());
        assertEquals("norm:1.0", lm.guard().clip());

        Path yaml = tmp.resolve("run.yaml");
        Files.writeString(yaml, "task: charlm\nmodel: transformer\nlr: 0.001\n");
        TrainSettings set = SettingsLayers.none().with(ConfigFiles.read(yaml), yaml.toString())
                .with(Map.of("steps", "50"), "command line").resolve();
        assertEquals(0.001, set.optimization().lr(), "the file's value wins");
        assertEquals(50, set.loop().steps(), "the flag's value wins");
        assertEquals(32, set.loop().batchSize());

        TrainSettings back = transformer.with(Map.of("model", "lstm"), "command line").resolve();
        assertEquals(1.75, back.optimization().lr(), "another model takes the built-in defaults again");
        assertEquals("sgd", back.optimization().name());

        TrainSettings resumed = TrainSettings.forResume(Map.of("task", "charlm", "model", "transformer", "lr", 0.5),
                SettingsLayers.none().with(Map.of("steps", "400"), "command line"));
        assertEquals(0.5, resumed.optimization().lr(), "a saved run keeps what it was trained with");
        assertEquals(400, resumed.loop().steps());
        assertEquals("cannot resume with lr=0.1: the run was trained with lr=0.5 (a resumed run may change only steps,"
                + " checkpoint-every, keep-checkpoints, rollback, max-nonfinite, grad-norm-every, grad-sync, tensorboard)",
                assertThrows(IllegalArgumentException.class, () -> TrainSettings.forResume(Map.of("lr", 0.5),
                        SettingsLayers.none().with(Map.of("lr", "0.1"), "command line"))).getMessage());
    }

    @Test
    void layersAndHeadsAreZeroForTheTasksDefaultOrAPositiveInteger() {
        assertTrue(TrainSettings.defaults().problem().layerCount().isEmpty());
        assertTrue(TrainSettings.defaults().problem().headCount().isEmpty());
        TrainSettings s = TrainSettings.of(Map.of("layers", "3", "heads", 2), "command line");
        assertEquals(3, s.problem().layerCount().getAsInt());
        assertEquals(2, s.problem().headCount().getAsInt());
        assertEquals("run.yaml: 'heads' must be an integer >= 1, or 0 for the task's default, got '-1'",
                error(Map.of("heads", "-1")));
    }

    @Test
    void layersAndHeadsAreLeftOutForAModelTheyDoNotSizeAndRecordedForATransformer() throws Exception {
        TrainSettings gru = TrainSettings.of(Map.of("model", "gru", "hidden", 32, "length", 100), "test");
        assertFalse(gru.asMap().containsKey("layers"), gru.asMap().toString());
        assertFalse(gru.asMap().containsKey("heads"), gru.asMap().toString());
        JsonNode json = Json.pretty().readTree(Json.pretty().writeValueAsString(gru));
        assertFalse(json.has("layers") || json.has("heads"), json.toString());
        assertTrue(gru.problem().layerCount().isEmpty() && gru.problem().headCount().isEmpty());

        TrainSettings transformer = TrainSettings.of(Map.of("model", "transformer", "hidden", 32, "layers", 2, "heads", 4,
                "length", 100), "test");
        Path config = Files.writeString(tmp.resolve("config.json"), Json.pretty().writeValueAsString(transformer));
        JsonNode recorded = Json.pretty().readTree(config.toFile());
        assertEquals(List.of(2, 4), List.of(recorded.get("layers").asInt(), recorded.get("heads").asInt()));
        assertEquals(transformer, TrainSettings.of(ConfigFiles.read(config), config.toString()));
    }

    @Test
    void aConfigAnEarlierVersionRecordedWithZeroLayersAndHeadsForAGruReadsAndResumesAsLeavingThemOut() {
        Map<String, Object> earlier = new LinkedHashMap<>(
                TrainSettings.of(Map.of("model", "gru", "hidden", 32, "length", 100), "test").asMap());
        Map<String, Object> current = Map.copyOf(earlier);
        earlier.put("layers", 0);
        earlier.put("heads", 0);
        assertEquals(TrainSettings.of(current, "config.json"), TrainSettings.of(earlier, "config.json"));
        assertEquals(current, TrainSettings.of(earlier, "config.json").asMap(), "no placeholder is carried on");

        SettingsLayers more = SettingsLayers.none().with(Map.of("steps", "3000"), "command line");
        TrainSettings resumed = TrainSettings.forResume(earlier, more);
        assertEquals(3000, resumed.loop().steps());
        assertEquals(TrainSettings.forResume(current, more), resumed);
        assertEquals("cannot resume with layers=2: the run was trained with layers unset (a resumed run may change only"
                + " steps, checkpoint-every, keep-checkpoints, rollback, max-nonfinite, grad-norm-every, grad-sync, tensorboard)",
                assertThrows(IllegalArgumentException.class, () -> TrainSettings.forResume(earlier,
                        SettingsLayers.none().with(Map.of("layers", "2"), "command line"))).getMessage());
    }

    @Test
    void jsonFilesWorkToo() throws Exception {
        Path json = tmp.resolve("run.json");
        Files.writeString(json, "{\"steps\": 12, \"nesterov\": true, \"weight-decay\": 0.01}");
        TrainSettings s = TrainSettings.of(ConfigFiles.read(json), "run.json");
        assertEquals(12, s.loop().steps());
        assertTrue(s.optimization().nesterov());
        assertEquals(0.01, s.optimization().weightDecay().value().getAsDouble());
    }

    @Test
    void unknownKeysNameTheClosestKnownKey() {
        String m = error(Map.of("lrate", 0.1));
        assertTrue(m.startsWith("unknown key 'lrate' in run.yaml (did you mean 'lr'?) (allowed: task, model, model-file, hidden, layers"), m);
        assertTrue(error(Map.of("batchsize", 3)).contains("did you mean 'batch-size'?"));
    }

    @Test
    void badValuesNameTheKeyTheValueAndWhatIsAllowed() {
        String allowed = "'lr' must be a finite number > 0 and <= 3.4028234663852886E38 (the largest float32:"
                + " parameters and updates are float32)";
        assertEquals("run.yaml: " + allowed + ", got 'NaN'", error(Map.of("lr", "NaN")));
        assertEquals("run.yaml: " + allowed + ", got -0.1", error(Map.of("lr", -0.1)));
        assertEquals("run.yaml: " + allowed + ", got 1.0E300", error(Map.of("lr", 1e300)));
        assertEquals(3.4028234663852886E38, Float.MAX_VALUE, "the bound is float32's largest value");
        assertEquals("run.yaml: 'batch-size' must be an integer in [1, 1000000], got 0", error(Map.of("batch-size", 0)));
        assertEquals("run.yaml: 'steps' must be an integer >= 1, got 'ten'", error(Map.of("steps", "ten")));
        assertEquals("run.yaml: 'steps' must be an integer >= 1, got 2.5", error(Map.of("steps", 2.5)));
        assertEquals("run.yaml: 'optimizer' must be one of sgd, adam, adamw, got 'adagrad'",
                error(Map.of("optimizer", "adagrad")));
        assertEquals("run.yaml: 'momentum' must be a number in [0.0, 1.0), got 1", error(Map.of("momentum", 1)));
        assertEquals("run.yaml: 'nesterov' must be true or false, got 'yes please'", error(Map.of("nesterov", "yes please")));
        assertTrue(error(Map.of("inject-nonfinite", "3,-1")).startsWith("run.yaml: 'inject-nonfinite' must be a comma-separated list"));
    }

    @Test
    void malformedFilesGiveOneLineErrors() throws Exception {
        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, "lr: [0.1\nsteps: 3\n");
        String m = assertThrows(IllegalArgumentException.class, () -> ConfigFiles.read(bad)).getMessage();
        assertTrue(m.startsWith("config file " + bad + " is not valid YAML at line"), m);
        assertTrue(!m.contains("\n"), m);

        Path list = tmp.resolve("list.json");
        Files.writeString(list, "[1, 2]");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ConfigFiles.read(list)).getMessage()
                .endsWith("must hold a map of keys to values, e.g. 'lr: 0.1'"));

        Path empty = tmp.resolve("empty.yaml");
        Files.writeString(empty, "  \n");
        assertEquals("config file " + empty + " is empty",
                assertThrows(IllegalArgumentException.class, () -> ConfigFiles.read(empty)).getMessage());

        Path binary = tmp.resolve("bin.yaml");
        Files.write(binary, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
        assertEquals("config file " + binary + " is not UTF-8 text",
                assertThrows(IllegalArgumentException.class, () -> ConfigFiles.read(binary)).getMessage());

        Path txt = tmp.resolve("run.txt");
        Files.writeString(txt, "lr: 1", StandardCharsets.UTF_8);
        assertEquals("config file " + txt + " must end in .yaml, .yml or .json",
                assertThrows(IllegalArgumentException.class, () -> ConfigFiles.read(txt)).getMessage());

        assertEquals("config file " + tmp.resolve("nope.yaml") + " does not exist",
                assertThrows(IllegalArgumentException.class, () -> ConfigFiles.read(tmp.resolve("nope.yaml"))).getMessage());
    }

    @Test
    void editDistanceCountsSingleEdits() {
        assertEquals(0, SettingsLayers.editDistance("lr", "lr"));
        assertEquals(3, SettingsLayers.editDistance("lrate", "lr"));
        assertEquals(1, SettingsLayers.editDistance("stepz", "steps"));
    }

    @Test
    void theRecordsRoundTripThroughJsonToTheSameTextWithEveryKeyFlatAndInTheSchemasOrder() throws Exception {
        TrainSettings s = TrainSettings.of(Map.of("task", "adding", "model", "gru", "hidden", 32, "length", 30,
                "weight-decay", 0.01, "inject-nonfinite", "4,9", "tensorboard", tmp.resolve("tb").toString()), "test");
        String json = Json.pretty().writeValueAsString(s);
        JsonNode tree = Json.pretty().readTree(json);
        List<String> keys = new ArrayList<>();
        tree.fieldNames().forEachRemaining(keys::add);
        List<String> applying = new ArrayList<>(TrainSettings.keys());
        applying.removeAll(List.of("layers", "heads"));
        assertEquals(applying, keys, "one flat object, a key per setting that sizes a GRU");
        assertEquals("gru", tree.get("model").asText());
        assertEquals(32, tree.get("hidden").asInt());
        assertEquals(0.01, tree.get("weight-decay").asDouble());
        assertEquals("default", Json.pretty().readTree(Json.pretty().writeValueAsString(TrainSettings.defaults()))
                .get("weight-decay").asText(), "PyTorch's weight decay is the word default, as in a config file");
        assertEquals(List.of(4, 9), List.of(tree.get("inject-nonfinite").get(0).asInt(), tree.get("inject-nonfinite").get(1).asInt()));

        TrainSettings back = Json.pretty().readValue(json, TrainSettings.class);
        assertEquals(s, back);
        assertEquals(json, Json.pretty().writeValueAsString(back), "JSON -> records -> JSON is the same text");
        Path file = tmp.resolve("config.json");
        Files.writeString(file, json);
        assertEquals(s, TrainSettings.of(ConfigFiles.read(file), file.toString()), "a recorded config reads back as a file");
    }

    @Test
    void aConfigFileUnderFlagsOverTheTasksDefaultsLayersKeyByKey() throws Exception {
        Path yaml = tmp.resolve("run.yaml");
        Files.writeString(yaml, "task: adding\nmodel: transformer\nsteps: 80\nbatch_size: 16\nclip: zclip\n");
        TrainSettings s = SettingsLayers.none().with(ConfigFiles.read(yaml), yaml.toString())
                .with(Map.of("steps", "40", "hidden", "24"), "command line").resolve();
        assertEquals(40, s.loop().steps(), "flag over file");
        assertEquals(16, s.loop().batchSize(), "file over built-in default");
        assertEquals("zclip", s.guard().clip(), "file over built-in default");
        assertEquals(24, s.problem().hidden(), "flag over built-in default");
        assertEquals("adamw", s.optimization().name(), "the transformer's training default over the built-in one");
        assertEquals(3e-3, s.optimization().lr());
        assertEquals(0.9, s.optimization().momentum(), "built-in default where nothing else sets it");
    }

    @Test
    void anUnknownKeyInAFileNamesTheFileAndTheNearestKey() throws Exception {
        Path yaml = tmp.resolve("run.yaml");
        Files.writeString(yaml, "steps: 10\ngrad_norm_evry: 5\n");
        String m = assertThrows(IllegalArgumentException.class,
                () -> SettingsLayers.none().with(ConfigFiles.read(yaml), yaml.toString())).getMessage();
        assertTrue(m.startsWith("unknown key 'grad_norm_evry' in " + yaml + " (did you mean 'grad-norm-every'?) (allowed: task,"), m);
        assertTrue(!m.contains("\n"), m);
    }
}
