package dev.gradguard.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.metrics.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs {@link CudaProbe} in a child JVM and turns however it ends into a {@link ProbeOutcome}. */
public final class ProbeRunner {
    private ProbeRunner() {
    }

    /** The command that runs the probe with this JVM's {@code java} and class path. */
    public static List<String> probeCommand() {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        return List.of(java.toString(), "-cp", System.getProperty("java.class.path"), CudaProbe.class.getName());
    }

    /**
     * Runs {@code command} and reads the last JSON line of its standard output.
     *
     * @param timeout the child is killed after this long
     */
    public static ProbeOutcome run(List<String> command, Duration timeout) {
        Path stdout = null;
        Path stderr = null;
        try {
            stdout = Files.createTempFile("gradguard-probe", ".out");
            stderr = Files.createTempFile("gradguard-probe", ".err");
            Process p = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                return new ProbeOutcome(ProbeOutcome.Status.TIMED_OUT, -1, false, List.of(), "",
                        "no answer within " + timeout.toSeconds() + " s; " + tail(stderr));
            }
            return interpret(p.exitValue(), Files.readString(stdout, StandardCharsets.UTF_8), tail(stderr));
        } catch (IOException e) {
            return ProbeOutcome.notRun("could not start the probe JVM: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ProbeOutcome.notRun("interrupted");
        } finally {
            deleteQuietly(stdout);
            deleteQuietly(stderr);
        }
    }

    /** The outcome for a child that exited with {@code exitCode} after printing {@code stdout}. */
    static ProbeOutcome interpret(int exitCode, String stdout, String stderrTail) {
        JsonNode answer = lastJsonLine(stdout);
        if (answer == null) {
            return new ProbeOutcome(ProbeOutcome.Status.CRASHED, exitCode, false, List.of(), "",
                    ProbeOutcome.describeExit(exitCode) + " without an answer; " + stderrTail);
        }
        if (answer.has("error") || exitCode != 0) {
            return new ProbeOutcome(ProbeOutcome.Status.FAILED, exitCode, false, List.of(), "",
                    answer.path("error").asText("exit " + exitCode));
        }
        List<GpuDevice> devices = new ArrayList<>();
        for (JsonNode d : answer.path("devices")) {
            devices.add(new GpuDevice(d.path("index").asInt(devices.size()), d.path("name").asText("unknown"),
                    d.path("memory_mib").asLong(-1), d.path("compute_capability").asText("unknown"), "probe"));
        }
        return new ProbeOutcome(ProbeOutcome.Status.ANSWERED, exitCode, answer.path("cuda_available").asBoolean(),
                devices, answer.path("build_config").asText(""), "");
    }

    private static JsonNode lastJsonLine(String stdout) {
        String[] lines = stdout.split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            String line = lines[i].trim();
            if (line.startsWith("{")) {
                try {
                    return Json.compact().readTree(line);
                } catch (IOException e) {
                    return null;
                }
            }
        }
        return null;
    }

    private static String tail(Path file) throws IOException {
        String s = Files.readString(file, StandardCharsets.UTF_8).strip();
        s = s.length() > 600 ? "..." + s.substring(s.length() - 600) : s;
        return s.isEmpty() ? "no standard error" : "standard error: " + s.replace('\n', ' ');
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a temp file left behind is harmless
            }
        }
    }
}
