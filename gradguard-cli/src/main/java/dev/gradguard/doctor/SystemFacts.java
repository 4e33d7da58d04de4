package dev.gradguard.doctor;

import dev.gradguard.engine.NativeLoadException;
import dev.gradguard.engine.Torch;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Gathers {@link Facts} from this machine and JVM. Never loads the GPU natives in this process: when they are
 * on the class path, only the child-JVM {@link CudaProbe} touches them, and only once every library they
 * need was found.
 */
public final class SystemFacts {
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(15);
    private static final Pattern JAR_VERSION = Pattern.compile("pytorch-(\\d+\\.\\d+\\.\\d+)-");

    private SystemFacts() {
    }

    /**
     * Observes this machine.
     *
     * @param probeTimeout how long the child JVM may take (its first run extracts about 870 MB of natives)
     */
    public static Facts gather(Duration probeTimeout) {
        Host host = host();
        String gpuJar = nativesLocation("linux-x86_64-gpu");
        String cpuJar = nativesLocation("linux-x86_64");
        Natives natives = gpuJar != null ? Natives.GPU : cpuJar != null ? Natives.CPU : Natives.NONE;
        String location = gpuJar != null ? gpuJar : cpuJar != null ? cpuJar : "";

        BuildInfo build = BuildInfo.parse("");
        int threads = -1;
        if (natives == Natives.CPU) {
            try {
                build = BuildInfo.parse(Torch.buildConfig());
                threads = Torch.threads();
            } catch (NativeLoadException e) {
                build = BuildInfo.parse("");
            }
        }

        Optional<String> smi = run(List.of("nvidia-smi", "--query-gpu=name,memory.total,compute_cap,driver_version",
                "--format=csv,noheader"));
        Driver driver = driver(smi);
        List<GpuDevice> smiDevices = smi.map(GpuDevice::parseNvidiaSmi).orElse(List.of());
        List<CudaLibrary> libraries = CudaLibraries.locate(CudaLibraries.searchDirectories(System.getenv("LD_LIBRARY_PATH")),
                run(List.of("ldconfig", "-p")).or(() -> run(List.of("/sbin/ldconfig", "-p"))).orElse(""));

        ProbeOutcome probe;
        if (natives != Natives.GPU) {
            probe = ProbeOutcome.notRun("the GPU natives are not on the class path");
        } else if (!libraries.stream().allMatch(CudaLibrary::found)) {
            probe = ProbeOutcome.notRun("libraries the GPU natives need are missing; loading them would crash the JVM");
        } else {
            probe = ProbeRunner.run(ProbeRunner.probeCommand(), probeTimeout);
            if (probe.status() == ProbeOutcome.Status.ANSWERED) {
                build = BuildInfo.parse(probe.buildConfig());
            }
        }
        String version = build.torchVersion();
        if (version.equals("unknown")) {
            Matcher m = JAR_VERSION.matcher(location);
            version = m.find() ? m.group(1) : "unknown";
        }
        return new Facts(host, natives, location, version, build, threads, driver, smiDevices, libraries, probe);
    }

    static Host host() {
        long memory = -1;
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            memory = os.getTotalMemorySize();
        }
        return new Host(System.getProperty("java.version"), System.getProperty("java.vendor"),
                System.getProperty("java.home"),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"),
                cpuModel(), Runtime.getRuntime().availableProcessors(), memory);
    }

    private static String cpuModel() {
        for (String line : read(Path.of("/proc/cpuinfo")).orElse("").split("\n")) {
            if (line.startsWith("model name")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return "unknown";
    }

    /** The driver from {@code /proc/driver/nvidia/version}, else from nvidia-smi's driver_version column. */
    private static Driver driver(Optional<String> smi) {
        Optional<String> proc = read(Path.of("/proc/driver/nvidia/version")).flatMap(Driver::parseProcVersion);
        if (proc.isPresent()) {
            return new Driver(proc.get(), "/proc/driver/nvidia/version");
        }
        if (smi.isPresent()) {
            String[] first = smi.get().split("\n")[0].split(",");
            if (first.length >= 4 && !first[3].isBlank()) {
                return new Driver(first[3].trim(), "nvidia-smi");
            }
        }
        return Driver.absent();
    }

    /** Where this build's native resources are: the jar (or directory) holding {@code org/bytedeco/pytorch/<platform>/}. */
    public static String nativesLocation(String platform) {
        ClassLoader cl = SystemFacts.class.getClassLoader();
        URL url = cl.getResource("org/bytedeco/pytorch/" + platform + "/libjnitorch.so");
        if (url == null) {
            url = cl.getResource("org/bytedeco/pytorch/" + platform + "/");
        }
        if (url == null) {
            return null;
        }
        String s = url.toString();
        int bang = s.indexOf("!/");
        return s.startsWith("jar:file:") && bang > 0 ? s.substring("jar:file:".length(), bang) : s;
    }

    private static Optional<String> read(Path p) {
        try {
            return Optional.of(Files.readString(p, StandardCharsets.UTF_8));
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
    }

    /** A command's standard output when it exits 0 within the timeout; empty when absent, failing or hung. */
    static Optional<String> run(List<String> command) {
        Path out = null;
        try {
            out = Files.createTempFile("gradguard-doctor", ".out");
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return Optional.empty();
            }
            return p.exitValue() == 0 ? Optional.of(Files.readString(out, StandardCharsets.UTF_8)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // a temp file left behind is harmless
                }
            }
        }
    }
}
