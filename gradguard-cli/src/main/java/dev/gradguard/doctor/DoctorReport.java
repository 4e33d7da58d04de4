package dev.gradguard.doctor;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What {@code gradguard doctor} found and concluded.
 *
 * @param facts what was observed
 * @param verdict what it means
 */
public record DoctorReport(Facts facts, Verdict verdict) {

    /**
     * Examines this machine: host, libtorch build, native build on the class path, NVIDIA driver, CUDA
     * libraries, and (when it is safe to try) a CUDA probe in a child JVM.
     *
     * @param probeTimeout how long the child JVM may take
     */
    public static DoctorReport examine(Duration probeTimeout) {
        Facts f = SystemFacts.gather(probeTimeout);
        return new DoctorReport(f, Verdict.of(f));
    }

    /** The report as {@code doctor --json} prints it. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cuda_available", verdict.cudaAvailable());
        m.put("reason", verdict.reason());
        m.put("fix", verdict.fix());
        m.putAll(facts.host().toMap());
        m.put("libtorch_version", facts.libtorchVersion());
        m.put("libtorch_build", facts.build().toMap());
        m.put("intra_op_threads", facts.intraOpThreads());
        m.put("natives", facts.natives().label());
        m.put("natives_location", facts.nativesLocation());
        m.put("driver", facts.driver().toMap());
        m.put("devices", facts.devices().stream().map(GpuDevice::toMap).toList());
        m.put("cuda_libraries", facts.libraries().stream().map(CudaLibrary::toMap).toList());
        m.put("probe", facts.probe().toMap());
        return m;
    }

    /** The report for a person to read. */
    public String toText() {
        Host h = facts.host();
        BuildInfo b = facts.build();
        StringBuilder s = new StringBuilder();
        line(s, "Java", h.javaVersion() + " (" + h.javaVendor() + ") at " + h.javaHome());
        line(s, "OS", h.os());
        line(s, "CPU", h.cpuModel() + ", " + h.cores() + " cores, " + (h.memoryBytes() >> 20) + " MiB memory");
        line(s, "libtorch", facts.libtorchVersion() + " (BLAS " + b.blas() + ", OpenMP " + onOff(b.openmp()) + ", oneDNN "
                + b.onednn() + ", gloo " + onOff(b.gloo()) + ", CUDA " + onOff(b.cuda()) + ", NCCL " + onOff(b.nccl()) + ")"
                + (facts.intraOpThreads() > 0 ? ", " + facts.intraOpThreads() + " intra-op threads" : ""));
        line(s, "natives", facts.natives().label() + (facts.nativesLocation().isEmpty() ? "" : " (" + facts.nativesLocation() + ")"));
        line(s, "driver", facts.driver().present() ? facts.driver().version() + " (from " + facts.driver().source() + ")" : "none");
        List<GpuDevice> devices = facts.devices();
        line(s, "devices", devices.isEmpty() ? "none" : devices.stream()
                .map(d -> d.index() + ": " + d.name() + ", " + d.memoryMib() + " MiB, compute " + d.computeCapability())
                .collect(Collectors.joining("; ")));
        for (String component : List.of(CudaLibrary.CUDA, CudaLibrary.CUDNN, CudaLibrary.NCCL)) {
            List<CudaLibrary> libs = facts.libraries().stream().filter(l -> l.component().equals(component)).toList();
            long found = libs.stream().filter(CudaLibrary::found).count();
            String missing = facts.missing(component).stream().map(CudaLibrary::name).collect(Collectors.joining(", "));
            line(s, component, found + "/" + libs.size() + " libraries found" + (missing.isEmpty() ? "" : "; missing " + missing));
        }
        line(s, "CUDA probe", facts.probe().status().name().toLowerCase(java.util.Locale.ROOT)
                + (facts.probe().detail().isEmpty() ? "" : ": " + facts.probe().detail()));
        s.append('\n');
        line(s, "cuda_available", String.valueOf(verdict.cudaAvailable()));
        line(s, "reason", verdict.reason());
        if (!verdict.fix().isEmpty()) {
            line(s, "fix", verdict.fix());
        }
        return s.toString();
    }

    private static void line(StringBuilder s, String key, String value) {
        s.append(String.format("%-15s %s%n", key, value));
    }

    private static String onOff(boolean on) {
        return on ? "on" : "off";
    }
}
