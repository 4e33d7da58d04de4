package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.run.TrainSettings;
import dev.gradguard.testing.ConsoleCapture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
        assertTrue(!Files.exists(out), "nothing was written");
    }
}
