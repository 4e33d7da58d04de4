package dev.gradguard.doctor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One GPU.
 *
 * @param index its CUDA index
 * @param name e.g. {@code NVIDIA H100 80GB HBM3}
 * @param memoryMib total memory in MiB, or -1 when unknown
 * @param computeCapability e.g. {@code 9.0}, or {@code "unknown"}
 * @param source {@code nvidia-smi} or {@code probe}
 */
public record GpuDevice(int index, String name, long memoryMib, String computeCapability, String source) {

    /**
     * Devices from {@code nvidia-smi --query-gpu=name,memory.total,compute_cap,driver_version --format=csv,noheader}
     * lines like {@code "NVIDIA H100 80GB HBM3, 81559 MiB, 9.0, 580.65.06"}.
     */
    static List<GpuDevice> parseNvidiaSmi(String csv) {
        List<GpuDevice> out = new ArrayList<>();
        for (String line : csv.split("\n")) {
            String[] f = line.split(",");
            if (f.length < 3 || line.isBlank()) {
                continue;
            }
            String mem = f[1].trim().replaceAll("[^0-9]", "");
            out.add(new GpuDevice(out.size(), f[0].trim(), mem.isEmpty() ? -1 : Long.parseLong(mem), f[2].trim(), "nvidia-smi"));
        }
        return out;
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("index", index);
        m.put("name", name);
        m.put("memory_mib", memoryMib);
        m.put("compute_capability", computeCapability);
        m.put("source", source);
        return m;
    }
}
