package dev.gradguard.doctor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the child JVM that loaded the GPU natives ({@link CudaProbe}) reported, or how it died.
 *
 * @param status how the probe ended
 * @param exitCode the child's exit status (-1 when it did not run or was killed on time-out)
 * @param cudaAvailable {@code torch.cuda_is_available()} as the child saw it
 * @param devices the devices the child saw
 * @param buildConfig the GPU build's {@code show_config()} text, or empty
 * @param detail an error message, or the tail of the child's standard error when it crashed
 */
public record ProbeOutcome(Status status, int exitCode, boolean cudaAvailable, List<GpuDevice> devices,
        String buildConfig, String detail) {

    /** How the probe ended. */
    public enum Status {
        /** Not run: the GPU natives or the libraries they need are not there (running it would only crash). */
        NOT_RUN,
        /** The child loaded the natives and answered. */
        ANSWERED,
        /** The child loaded nothing but reported a Java error (e.g. the natives could not be linked). */
        FAILED,
        /** The child died without answering: a native crash (SIGSEGV, SIGABRT) while loading. */
        CRASHED,
        /** The child did not finish in time and was killed. */
        TIMED_OUT
    }

    public ProbeOutcome {
        devices = List.copyOf(devices);
        buildConfig = buildConfig == null ? "" : buildConfig;
        detail = detail == null ? "" : detail;
    }

    public static ProbeOutcome notRun(String why) {
        return new ProbeOutcome(Status.NOT_RUN, -1, false, List.of(), "", why);
    }

    /** {@code "exit 139 (SIGSEGV)"}: the exit status, and the signal when the status says the child was killed by one. */
    public static String describeExit(int code) {
        if (code <= 128 || code > 128 + 64) {
            return "exit " + code;
        }
        String signal = switch (code - 128) {
            case 4 -> "SIGILL";
            case 6 -> "SIGABRT, the JVM's own abort after a native crash";
            case 7 -> "SIGBUS";
            case 9 -> "SIGKILL";
            case 11 -> "SIGSEGV";
            case 15 -> "SIGTERM";
            default -> "signal " + (code - 128);
        };
        return "exit " + code + " (" + signal + ")";
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", status.name().toLowerCase(java.util.Locale.ROOT));
        m.put("exit_code", exitCode);
        m.put("cuda_available", cudaAvailable);
        m.put("device_count", devices.size());
        m.put("detail", detail);
        return m;
    }
}
