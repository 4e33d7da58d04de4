package dev.gradguard.cli;

import dev.gradguard.doctor.DoctorReport;
import dev.gradguard.metrics.Json;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code gradguard doctor}: is this machine ready to train on a GPU, and if not, why not. */
@Command(name = "doctor",
        header = "Say whether this machine can train on a GPU, and what to fix.", mixinStandardHelpOptions = true,
        description = {"Report Java, OS, CPU, memory, libtorch's build, the native build on the class path, the NVIDIA "
            + "driver, the CUDA/cuDNN/NCCL libraries the GPU build needs and the GPUs, then a verdict: cuda_available, "
            + "the reason and the fix. GPU natives are only ever loaded in a child JVM, so a crash there becomes a "
            + "diagnosis. Exits 0 whenever it could diagnose, GPU or not."})
public final class DoctorCommand implements Callable<Integer> {
    @Option(names = "--json", description = "print the report as JSON")
    boolean json;
    @Option(names = "--probe-timeout", paramLabel = "SECONDS", description = "how long the child-JVM CUDA probe may take (default 180)")
    long probeTimeout = 180;
    @Option(names = "--debug", description = "show stack traces of errors")
    boolean debug;

    @Override
    public Integer call() throws Exception {
        if (probeTimeout < 1) {
            throw new IllegalArgumentException("--probe-timeout must be at least 1 second, got " + probeTimeout);
        }
        DoctorReport report = DoctorReport.examine(Duration.ofSeconds(probeTimeout));
        System.out.print(json ? Json.pretty().writeValueAsString(report.toMap()) + "\n" : report.toText());
        return ExitCodes.OK;
    }
}
