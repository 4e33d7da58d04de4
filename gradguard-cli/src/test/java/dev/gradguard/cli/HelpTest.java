package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.testing.ConsoleCapture;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** What a newcomer reads first: the command list and each command's options. */
class HelpTest {
    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @Test
    void everyCommandHasAOneSentenceSummaryThatFitsTheCommandList() {
        assertEquals(0, Main.run("--help"));
        Map<String, CommandLine> commands = new CommandLine(new Main()).getSubcommands();
        for (Map.Entry<String, CommandLine> e : commands.entrySet()) {
            if (e.getKey().equals("help")) {
                continue;
            }
            String[] header = e.getValue().getCommandSpec().usageMessage().header();
            assertEquals(1, header.length, e.getKey() + " has a one-line header");
            String summary = header[0];
            assertTrue(summary.endsWith(".") && Character.isUpperCase(summary.charAt(0)), e.getKey() + ": " + summary);
            assertTrue(summary.length() <= 70, e.getKey() + ": " + summary.length() + " characters");
            assertTrue(console.out().contains("  " + e.getKey() + " ") && console.out().contains(summary),
                    e.getKey() + " is listed whole:\n" + console.out());
        }
    }

    @Test
    void everyTrainSettingStatesItsDefault() {
        CommandLine train = new CommandLine(new Main()).getSubcommands().get("train");
        assertEquals(0, Main.run("train", "--help"));
        List<String> flagsWithoutADefault = List.of("--help", "--version", "--json", "--quiet", "--debug", "--resume",
                "--overwrite", "--out", "--dashboard");
        for (OptionSpec o : train.getCommandSpec().options()) {
            if (flagsWithoutADefault.contains(o.longestName())) {
                continue;
            }
            String text = String.join(" ", o.description());
            assertTrue(text.contains("default") || text.contains("required"), o.longestName() + ": " + text);
            assertTrue(!text.contains("${"), o.longestName() + " interpolated: " + text);
        }
        String help = console.out();
        for (String shown : List.of("(default: 1500;", "(default: 1.75;", "(default: 64;", "(default: sgd;",
                "(default: norm:1.0)", "(default: temporal-order)", "32 for adding and temporal-order")) {
            assertTrue(help.replaceAll("\\s+", " ").contains(shown), shown + " in:\n" + help);
        }
    }
}
