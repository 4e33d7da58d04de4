package dev.gradguard.cli;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code gradguard shell}: JShell with gradguard and libtorch on the class path, imported and loaded. */
@Command(name = "shell",
        header = "Open JShell with gradguard and libtorch ready to use.", mixinStandardHelpOptions = true,
        description = {"Open JShell with gradguard and libtorch on the class path, every dev.gradguard package and "
            + "org.bytedeco.pytorch imported (torch's functions statically), and the natives loaded. Needs a JDK "
            + "(the jshell tool), not only a runtime."})
public final class ShellCommand implements Callable<Integer> {
    /** gradguard's packages, imported on start. */
    static final List<String> PACKAGES = List.of("amp", "bench", "checkpoint", "clip", "compare", "control", "data",
            "doctor", "engine", "guard", "metrics", "model", "optim", "report", "run", "state", "task", "train");

    @Option(names = "--print-startup", description = "print the start-up script and exit (e.g. for a Jupyter Java kernel)")
    boolean printStartup;
    @Option(names = "--debug", description = "show stack traces of errors")
    boolean debug;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (printStartup) {
            System.out.print(startupScript());
            return ExitCodes.OK;
        }
        Path startup = Files.createTempFile("gradguard-shell", ".jsh");
        try {
            Files.writeString(startup, startupScript());
            return new ProcessBuilder(command(startup, List.of())).inheritIO().start().waitFor();
        } finally {
            Files.deleteIfExists(startup);
        }
    }

    /** The imports and the native load JShell runs before the first prompt. */
    public static String startupScript() {
        StringBuilder s = new StringBuilder();
        for (String p : PACKAGES) {
            s.append("import dev.gradguard.").append(p).append(".*;\n");
        }
        s.append("import org.bytedeco.pytorch.*;\n");
        s.append("import static org.bytedeco.pytorch.global.torch.*;\n");
        s.append("dev.gradguard.engine.Torch.load();\n");
        // show(x): a tensor with its values, shape and dtype as PyTorch prints it; a run's summary readably
        s.append("String show(Object value) { return dev.gradguard.cli.ShellFormat.show(value); }\n");
        return s.toString();
    }

    /**
     * The jshell command line: JShell's default start-up, then {@code startup}, then {@code args}.
     *
     * @throws IllegalArgumentException when this Java has no jshell (a runtime without the JDK tools)
     */
    static List<String> command(Path startup, List<String> args) {
        Path jshell = Path.of(System.getProperty("java.home"), "bin", "jshell");
        if (!Files.isExecutable(jshell)) {
            throw new IllegalArgumentException("jshell not found at " + jshell
                    + "; 'gradguard shell' needs a JDK (Debian: apt-get install openjdk-17-jdk-headless)");
        }
        List<String> cmd = new ArrayList<>(List.of(jshell.toString(), "--class-path", classPath(),
                "--startup", "DEFAULT", "--startup", startup.toString()));
        cmd.addAll(args);
        return cmd;
    }

    /**
     * This JVM's class path with the {@code Class-Path} entries of its jars' manifests spelled out: under
     * {@code java -jar target/gradguard.jar} the class path is that one jar, and its manifest names lib/*.jar.
     */
    static String classPath() {
        Set<String> entries = new LinkedHashSet<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (e.isBlank()) {
                continue;
            }
            entries.add(Path.of(e).toAbsolutePath().toString());
            if (e.endsWith(".jar") && Files.isRegularFile(Path.of(e))) {
                try (JarFile jar = new JarFile(e)) {
                    Manifest m = jar.getManifest();
                    String cp = m == null ? null : m.getMainAttributes().getValue("Class-Path");
                    if (cp != null) {
                        Path dir = Path.of(e).toAbsolutePath().getParent();
                        for (String rel : cp.trim().split("\\s+")) {
                            Path p = dir.resolve(rel);
                            if (Files.exists(p)) {
                                entries.add(p.toString());
                            }
                        }
                    }
                } catch (IOException ignored) {
                    // an unreadable jar contributes only itself
                }
            }
        }
        return String.join(File.pathSeparator, entries);
    }
}
