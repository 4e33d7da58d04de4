package dev.gradguard.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs the scripts in {@code scripts/} with the Python of {@code scripts/pyenv.sh} (real PyTorch, TensorBoard,
 * safetensors): {@code $GRADGUARD_PYTHON}, else {@code ~/.cache/gradguard/pyenv/bin/python}. A test that
 * needs it is skipped, saying so, where that Python is missing or lacks the module it imports.
 */
public final class RealPython {
    private static final Path ROOT = Path.of(System.getProperty("gradguard.root", "..")).toAbsolutePath().normalize();

    private RealPython() {
    }

    /** The Python executable, after skipping the calling test unless it imports {@code module}. */
    public static Path requireModule(String module) throws IOException, InterruptedException {
        String configured = System.getenv("GRADGUARD_PYTHON");
        Path python = configured != null && !configured.isBlank() ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "gradguard", "pyenv", "bin", "python");
        Assumptions.assumeTrue(Files.isExecutable(python), python + " is missing: scripts/pyenv.sh creates the venv "
                + "with real PyTorch, TensorBoard and safetensors (or set GRADGUARD_PYTHON)");
        Process p = new ProcessBuilder(python.toString(), "-c", "import " + module).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        Assumptions.assumeTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, python + " cannot import "
                + module + ": scripts/pyenv.sh installs it");
        return python;
    }

    /** Runs {@code scripts/<script>} with {@code args} and parses the JSON it prints (NaN allowed). */
    public static JsonNode runScript(String module, String script, String... args) throws IOException, InterruptedException {
        Path python = requireModule(module);
        List<String> command = new ArrayList<>(List.of(python.toString(), ROOT.resolve("scripts").resolve(script).toString()));
        command.addAll(List.of(args));
        Path err = Files.createTempFile("gradguard-python", ".err");
        try {
            Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(script + " did not finish in 300 s");
            }
            assertEquals(0, p.exitValue(), script + " failed: " + Files.readString(err));
            return JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build().readTree(out);
        } finally {
            Files.delete(err);
        }
    }
}
