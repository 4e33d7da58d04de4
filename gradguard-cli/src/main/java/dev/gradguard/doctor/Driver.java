package dev.gradguard.doctor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The NVIDIA kernel driver as this machine shows it.
 *
 * @param version e.g. {@code 580.65.06}, or {@code null} when no driver is loaded
 * @param source where the version was read: {@code /proc/driver/nvidia/version} or {@code nvidia-smi}
 */
public record Driver(String version, String source) {
    /**
     * The oldest driver branch that runs CUDA 13.x applications (NVIDIA's CUDA Compatibility guide,
     * "Minor Version Compatibility": CUDA 13.x needs a driver {@code >= 580}).
     */
    public static final int MIN_MAJOR_FOR_CUDA_13 = 580;

    private static final Pattern PROC = Pattern.compile("Kernel Module\\s+(?:for\\s+\\S+\\s+)?(\\d+\\.\\d+(?:\\.\\d+)?)");

    /** No driver. */
    public static Driver absent() {
        return new Driver(null, null);
    }

    public boolean present() {
        return version != null;
    }

    /** The branch, e.g. 580 for {@code 580.65.06}; empty when absent or unreadable. */
    public Optional<Integer> major() {
        if (version == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(Integer.parseInt(version.split("\\.")[0]));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** The version in the text of {@code /proc/driver/nvidia/version}, e.g. "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 ...". */
    static Optional<String> parseProcVersion(String text) {
        Matcher m = PROC.matcher(text);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("present", present());
        m.put("version", version);
        m.put("source", source);
        m.put("minimum_for_cuda_13", MIN_MAJOR_FOR_CUDA_13);
        return m;
    }
}
