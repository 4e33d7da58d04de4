package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.testing.ConsoleCapture;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import picocli.CommandLine;

class MainTest {
    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @Test
    void everyCommandBuildsAndShowsItsHelp() {
        CommandLine cli = new CommandLine(new Main());
        for (String sub : cli.getSubcommands().keySet()) {
            if (sub.equals("help")) {
                continue;
            }
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            CommandLine c = new CommandLine(new Main());
            c.setOut(new java.io.PrintWriter(new PrintStream(buf, true, StandardCharsets.UTF_8), true));
            assertEquals(0, c.execute(sub, "--help"), sub);
            String help = buf.toString(StandardCharsets.UTF_8);
            // the one-sentence summary, then the usage
            assertTrue(help.lines().skip(1).findFirst().orElse("").startsWith("Usage: gradguard " + sub), sub + ":\n" + help);
        }
        assertTrue(cli.getSubcommands().keySet().containsAll(java.util.List.of("train", "compare", "bench")));
    }

    @Test
    void anUnknownCommandIsAUsageError() {
        assertEquals(ExitCodes.USAGE, Main.run("trian"));
        assertTrue(console.err().contains("did you mean train?"), console.err());
    }

    @Test
    void compareRefusesADeviceItsRunsCannotUseBeforeStartingAny(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        dev.gradguard.engine.Torch.load();
        org.junit.jupiter.api.Assumptions.assumeFalse(org.bytedeco.pytorch.global.torch.cuda_is_available(), "a GPU is present");
        java.nio.file.Path out = tmp.resolve("cmp");
        assertEquals(ExitCodes.USAGE, Main.run("compare", "--device", "cuda", "--seeds", "1", "--out", out.toString()));
        assertTrue(console.err().contains("device cuda: CUDA is not usable on this machine"), console.err());
        assertTrue(!java.nio.file.Files.exists(out), "nothing was written");
    }
}
