package dev.gradguard.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainSettingsTest {
    @TempDir
    Path tmp;

    private static String error(Map<String, ?> overrides) {
        return assertThrows(IllegalArgumentException.class,
                () -> TrainSettings.defaults().with(overrides, "run.yaml")).getMessage();
    }

    @Test
    void flagsOverrideTheFileWhichOverridesTheDefaults() throws Exception {
        Path yaml = tmp.resolve("run.yaml");
        Files.writeString(yaml, "lr: 0.25\nbatch_size: 8\nclip: value:0.5\ninject-nonfinite: [3, 5]\n");
        TrainSettings s = TrainSettings.defaults()
                .with(ConfigFiles.read(yaml), yaml.toString())
                .with(Map.of("lr", "0.125"), "command line");
        assertEquals(0.125, s.lr());
        assertEquals(8, s.batchSize());
        assertEquals("value:0.5", s.clip());
        assertEquals(List.of(3L, 5L), s.injectNonfinite());
        assertEquals(TrainSettings.defaults().steps(), s.steps());
    }

    @Test
    void aTransformerTakesItsTasksTrainingDefaultsWhereNothingElseSetsThem() throws Exception {
        TrainSettings lm = TrainSettings.defaults().with(Map.of("task", "charlm", "model", "transformer"), "command line");
        assertEquals("adamw", lm.optimizer());
        assertEquals(3e-3, lm.lr());
        assertEquals("warmup:30", lm.schedule());
        assertEquals(300, lm.steps());
        assertEquals(32, lm.batchSize());
        assertEquals(TrainSettings.defaults().clip(), lm.clip());

        Path yaml = tmp.resolve("run.yaml");
        Files.writeString(yaml, "task: charlm\nmodel: transformer\nlr: 0.001\n");
        TrainSettings set = TrainSettings.defaults().with(ConfigFiles.read(yaml), yaml.toString())
                .with(Map.of("steps", "50"), "command line");
        assertEquals(0.001, set.lr(), "the file's value wins");
        assertEquals(50, set.steps(), "the flag's value wins");
        assertEquals(32, set.batchSize());

        TrainSettings back = lm.with(Map.of("model", "lstm"), "command line");
        assertEquals(TrainSettings.defaults().lr(), back.lr(), "another model takes the built-in defaults again");
        assertEquals(TrainSettings.defaults().optimizer(), back.optimizer());

        TrainSettings resumed = TrainSettings.forResume(Map.of("task", "charlm", "model", "transformer", "lr", 0.5),
                Map.of("steps", "400"), "this command");
        assertEquals(0.5, resumed.lr(), "a saved run keeps what it was trained with");
    }

    @Test
    void layersAndHeadsAreZeroForTheTasksDefaultOrAPositiveInteger() {
        assertTrue(TrainSettings.defaults().layers().isEmpty());
        assertTrue(TrainSettings.defaults().heads().isEmpty());
        TrainSettings s = TrainSettings.defaults().with(Map.of("layers", "3", "heads", 2), "command line");
        assertEquals(3, s.layers().getAsInt());
        assertEquals(2, s.heads().getAsInt());
        assertEquals("run.yaml: 'heads' must be an integer >= 1, or 0 for the task's default, got '-1'",
                error(Map.of("heads", "-1")));
    }

    @Test
    void jsonFilesWorkToo() throws Exception {
        Path json = tmp.resolve("run.json");
        Files.writeString(json, "{\"steps\": 12, \"nesterov\": true, \"weight-decay\": 0.01}");
        TrainSettings s = TrainSettings.defaults().with(ConfigFiles.read(json), "run.json");
        assertEquals(12, s.steps());
        assertTrue(s.nesterov());
        assertEquals(0.01, s.weightDecay().getAsDouble());
    }

    @Test
    void unknownKeysNameTheClosestKnownKey() {
        String m = error(Map.of("lrate", 0.1));
        assertTrue(m.startsWith("unknown key 'lrate' in run.yaml (did you mean 'lr'?) (allowed: task, model, model-file, steps"), m);
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
        assertEquals(0, TrainSettings.editDistance("lr", "lr"));
        assertEquals(3, TrainSettings.editDistance("lrate", "lr"));
        assertEquals(1, TrainSettings.editDistance("stepz", "steps"));
    }
}
