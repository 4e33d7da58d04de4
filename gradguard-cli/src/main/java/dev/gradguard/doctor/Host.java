package dev.gradguard.doctor;

import java.util.LinkedHashMap;
import java.util.Map;

/** The machine and the JVM the doctor runs in. */
public record Host(String javaVersion, String javaVendor, String javaHome, String os, String cpuModel, int cores,
        long memoryBytes) {

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("java_version", javaVersion);
        m.put("java_vendor", javaVendor);
        m.put("java_home", javaHome);
        m.put("os", os);
        m.put("cpu_model", cpuModel);
        m.put("cores", cores);
        m.put("memory_bytes", memoryBytes);
        return m;
    }
}
