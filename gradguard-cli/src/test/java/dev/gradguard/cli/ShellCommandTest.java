package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShellCommandTest {

    @Test
    void theStartupScriptImportsEveryPackageAndLoadsTheNatives(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(Path.of(System.getProperty("java.home"), "bin", "jshell")), "no jshell in this Java");
        Path startup = dir.resolve("startup.jsh");
        Files.writeString(startup, ShellCommand.startupScript());
        Path script = dir.resolve("check.jsh");
        // names from three of the imports: a gradguard class, a libtorch class and a static torch function
        Files.writeString(script, String.join("\n",
                "Tensor t = ones(3);",
                "System.out.println(\"sum=\" + t.sum().item_double() + \" scale=\" + GradScaler.withDefaults().scale() + \" torch=\" + Torch.version());",
                "/exit", ""));
        Path out = dir.resolve("out.txt");
        Process p = new ProcessBuilder(ShellCommand.command(startup, List.of(script.toString())))
                .redirectErrorStream(true).redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        p.getOutputStream().close();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "jshell did not finish");
        String text = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), text);
        assertTrue(text.contains("sum=3.0 scale=65536.0 torch=2.10.0"), text);
        assertFalse(text.contains("Error"), text);
    }

    @Test
    void printStartupPrintsTheScript() {
        java.io.PrintStream real = System.out;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(ExitCodes.OK, Main.run("shell", "--print-startup"));
        } finally {
            System.setOut(real);
        }
        String s = buf.toString(StandardCharsets.UTF_8);
        assertEquals(ShellCommand.startupScript(), s);
        assertTrue(s.contains("import static org.bytedeco.pytorch.global.torch.*;"), s);
    }
}
