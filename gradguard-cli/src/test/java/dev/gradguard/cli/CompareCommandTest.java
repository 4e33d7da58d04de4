package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.metrics.Json;
import dev.gradguard.run.TrainSettings;
import dev.gradguard.testing.ConsoleCapture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

class CompareCommandTest {
    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();
    @TempDir
    Path tmp;

    @Test
    void compareTakesEveryTrainSettingFlagExceptThoseTheGridSetsWithTrainsOwnDefinition() {
        CommandSpec compare = new CommandLine(new Main()).getSubcommands().get("compare").getCommandSpec();
        CommandSpec train = new CommandLine(new Main()).getSubcommands().get("train").getCommandSpec();
        for (String key : TrainSettings.keys()) {
            OptionSpec t = train.findOption("--" + key);
            OptionSpec c = compare.findOption("--" + key);
            assertNotNull(t, "every settings key is a train flag: --" + key);
            if (List.of("clip", "controller", "seed", "threads").contains(key)) {
                assertNull(c, key + " is set per run");
                continue;
            }
            assertNotNull(c, "--" + key);
            if (!key.equals("lr")) {
                assertEquals(List.of(t.description()), List.of(c.description()), key);
                assertEquals(t.arity(), c.arity(), key);
            }
        }
        assertEquals("true", compare.findOption("--nesterov").fallbackValue());
        assertEquals(dev.gradguard.compare.CompareOptions.PER_RUN, CommandSpec.forAnnotatedObject(new SettingOptions.PerRun())
                .options().stream().map(o -> o.longestName().substring(2)).sorted().toList(),
                "the settings compare refuses to share are those of train's per-run mixin");
    }

    @Test
    void lrAndLrsTogetherOrABadLearningRateAreRefusedInOneLineBeforeAnyRun() {
        Path out = tmp.resolve("cmp");
        assertEquals(ExitCodes.USAGE, Main.run("compare", "--lr", "0.1", "--lrs", "0.1,1", "--out", out.toString()));
        assertTrue(console.err().contains("give --lr or --lrs, not both"), console.err());
        assertEquals(ExitCodes.USAGE, Main.run("compare", "--lrs", "0.1,,1", "--out", out.toString()));
        assertTrue(console.err().contains("--lrs must be learning rates separated by ',', e.g. 0.01,0.1,1; got '0.1,,1'"),
                console.err());
        assertEquals(ExitCodes.USAGE, Main.run("compare", "--lrs", "0.1,-1", "--out", out.toString()));
        assertTrue(console.err().contains("--lrs: 'lr' must be a finite number > 0"), console.err());
        assertEquals(ExitCodes.USAGE, Main.run("compare", "--policies", "none;default;zclip@atuo", "--out", out.toString()));
        assertTrue(console.err().contains("unknown controller 'atuo'"), console.err());
        assertEquals(ExitCodes.USAGE, Main.run("compare", "--hidden", "-3", "--out", out.toString()));
        assertTrue(console.err().contains("'hidden' must be an integer >= 1, or 0 for the task's default"), console.err());
        // sizes the task's model does not take fail once, not in every run of the grid
        assertEquals(ExitCodes.USAGE, Main.run("compare", "--layers", "2", "--out", out.toString()));
        assertTrue(console.err().contains("'layers' and 'heads' size model transformer only, not gru (task adding)"),
                console.err());
        assertEquals(ExitCodes.USAGE, Main.run("compare", "--task", "adding", "--model", "transformer", "--hidden", "30",
                "--heads", "4", "--out", out.toString()));
        assertTrue(console.err().contains("'hidden' 30 must be divisible by 'heads' 4"), console.err());
        assertTrue(!Files.exists(out), "nothing was written");
    }

    @Test
    void aTrainOnlySettingGivenToCompareReachesEveryRunThroughTheSharedMixin() throws Exception {
        Path out = tmp.resolve("cmp");
        assertEquals(ExitCodes.OK, Main.run("compare", "--task", "adding", "--model", "gru", "--hidden", "8", "--length", "10",
                "--steps", "3", "--eval-samples", "20", "--policies", "none;default", "--seeds", "1", "--parallel", "2",
                "--lr", "0.1", "--out", out.toString()), console.err());
        assertEquals(8, Json.compact().readTree(out.resolve("train.json").toFile()).get("hidden").asInt());
        List<Path> runs;
        try (Stream<Path> dirs = Files.list(out.resolve("runs"))) {
            runs = dirs.sorted().toList();
        }
        assertEquals(2, runs.size());
        for (Path run : runs) {
            JsonNode config = Json.compact().readTree(run.resolve("config.json").toFile());
            assertEquals(8, config.get("hidden").asInt(), run.toString());
            assertEquals(10, config.get("length").asInt());
            assertEquals(0.1, config.get("lr").asDouble());
            assertEquals(1, config.get("threads").asInt(), "the grid sets one thread per run");
        }
        JsonNode defaultRun = Json.compact().readTree(runs.stream().filter(r -> r.getFileName().toString().startsWith("norm"))
                .findFirst().orElseThrow().resolve("config.json").toFile());
        assertEquals(TrainSettings.defaults().guard().clip(), defaultRun.get("clip").asText(), "'default' is train's policy");
    }
}
