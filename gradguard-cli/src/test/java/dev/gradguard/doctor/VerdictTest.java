package dev.gradguard.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VerdictTest {
    private static final Host HOST = new Host("17", "test", "/jdk", "Linux", "cpu", 2, 1L << 30);
    private static final GpuDevice H100 = new GpuDevice(0, "NVIDIA H100 80GB HBM3", 81559, "9.0", "probe");

    /** A GPU host where everything works; each test breaks one fact. */
    private static Facts good() {
        return facts(new Driver("580.65.06", "/proc/driver/nvidia/version"), Natives.GPU, libraries(Set.of()),
                new ProbeOutcome(ProbeOutcome.Status.ANSWERED, 0, true, List.of(H100), "", ""));
    }

    private static Facts facts(Driver driver, Natives natives, List<CudaLibrary> libs, ProbeOutcome probe) {
        return new Facts(HOST, natives, "pytorch-2.10.0-1.5.13-linux-x86_64-gpu.jar", "2.10.0", BuildInfo.parse(""), -1,
                driver, List.of(), libs, probe);
    }

    private static List<CudaLibrary> libraries(Set<String> missing) {
        List<CudaLibrary> libs = new ArrayList<>();
        for (Map.Entry<String, String> e : CudaLibraries.REQUIRED.entrySet()) {
            libs.add(new CudaLibrary(e.getKey(), e.getValue(), missing.contains(e.getKey()) ? null : "/usr/lib/" + e.getKey()));
        }
        return libs;
    }

    private static Facts with(Driver d) {
        Facts g = good();
        return facts(d, g.natives(), g.libraries(), g.probe());
    }

    private static Facts withNatives(Natives n) {
        Facts g = good();
        return facts(g.driver(), n, g.libraries(), ProbeOutcome.notRun("the GPU natives are not on the class path"));
    }

    private static Facts withMissing(String... names) {
        Facts g = good();
        return facts(g.driver(), g.natives(), libraries(Set.of(names)), ProbeOutcome.notRun("libraries missing"));
    }

    private static Facts withProbe(ProbeOutcome p) {
        Facts g = good();
        return facts(g.driver(), g.natives(), g.libraries(), p);
    }

    @Test
    void everythingPresentAndTheProbeSeeingADeviceMeansCudaIsAvailable() {
        Verdict v = Verdict.of(good());
        assertTrue(v.cudaAvailable());
        assertEquals("CUDA available: 1 device(s), NVIDIA H100 80GB HBM3", v.reason());
        assertEquals("", v.fix());
    }

    @Test
    void noDriverMeansNoUsableGpuWhateverElseIsThere() {
        Verdict v = Verdict.of(with(Driver.absent()));
        assertFalse(v.cudaAvailable());
        assertEquals(Verdict.NO_DRIVER, v.reason());
        assertTrue(v.fix().contains(">= 580"), v.fix());
    }

    @Test
    void aDriverOlderThanTheCuda13BranchIsNamedWithTheMinimum() {
        Verdict v = Verdict.of(with(new Driver("535.183.01", "nvidia-smi")));
        assertFalse(v.cudaAvailable());
        assertEquals("the NVIDIA driver 535.183.01 is older than CUDA 13.1 needs (>= 580)", v.reason());
        assertTrue(v.fix().contains("upgrade the NVIDIA driver"), v.fix());
        assertTrue(Verdict.of(with(new Driver("580.65.06", "nvidia-smi"))).cudaAvailable(), "580 itself is enough");
    }

    @Test
    void cpuNativesOnAGpuHostAskForTheGpuProfile() {
        Verdict v = Verdict.of(withNatives(Natives.CPU));
        assertFalse(v.cudaAvailable());
        assertEquals(Verdict.CPU_NATIVES, v.reason());
        assertTrue(v.fix().startsWith("build with -Pgpu"), v.fix());
        assertTrue(Verdict.of(withNatives(Natives.NONE)).fix().startsWith("build with -Pgpu"));
    }

    @Test
    void missingCudaRuntimeLibrariesAreListed() {
        Verdict v = Verdict.of(withMissing("libcublas.so.13", "libnvJitLink.so.13"));
        assertFalse(v.cudaAvailable());
        assertEquals("CUDA 13.1 libraries missing: libcublas.so.13, libnvJitLink.so.13", v.reason());
        assertTrue(v.fix().contains("CUDA 13.1"), v.fix());
    }

    @Test
    void missingCudnnAsksForCudnn9() {
        Verdict v = Verdict.of(withMissing("libcudnn.so.9", "libcudnn_ops.so.9"));
        assertFalse(v.cudaAvailable());
        assertEquals("cuDNN 9 missing: libcudnn.so.9, libcudnn_ops.so.9", v.reason());
        assertTrue(v.fix().startsWith("install cuDNN 9"), v.fix());
    }

    @Test
    void missingNcclAsksForNccl2() {
        Verdict v = Verdict.of(withMissing("libnccl.so.2"));
        assertFalse(v.cudaAvailable());
        assertEquals("NCCL 2 missing: libnccl.so.2", v.reason());
        assertTrue(v.fix().startsWith("install NCCL 2"), v.fix());
    }

    @Test
    void cudaLibrariesAreReportedBeforeCudnnAndNccl() {
        assertTrue(Verdict.of(withMissing("libcudart.so.13", "libcudnn.so.9", "libnccl.so.2")).reason().startsWith("CUDA 13.1"));
    }

    @Test
    void aProbeThatCrashedBecomesADiagnosisWithItsExitStatus() {
        ProbeOutcome crashed = ProbeRunner.interpret(139, "", "standard error: # A fatal error has been detected");
        Verdict v = Verdict.of(withProbe(crashed));
        assertFalse(v.cudaAvailable());
        assertTrue(v.reason().startsWith("the GPU natives crashed while loading: exit 139 (SIGSEGV)"), v.reason());
        assertTrue(v.fix().contains(CudaProbe.class.getName()), v.fix());
        assertTrue(Verdict.of(withProbe(ProbeRunner.interpret(134, "", ""))).reason().contains("exit 134 (SIGABRT"));
    }

    @Test
    void aProbeThatTimedOutOrFailedIsNotAvailable() {
        Verdict timedOut = Verdict.of(withProbe(new ProbeOutcome(ProbeOutcome.Status.TIMED_OUT, -1, false, List.of(), "", "no answer within 5 s")));
        assertFalse(timedOut.cudaAvailable());
        assertEquals("the CUDA probe did not answer: no answer within 5 s", timedOut.reason());
        Verdict failed = Verdict.of(withProbe(ProbeRunner.interpret(2, "{\"error\":\"UnsatisfiedLinkError: libcuda.so.1\"}\n", "")));
        assertEquals("the GPU natives could not be loaded: UnsatisfiedLinkError: libcuda.so.1", failed.reason());
    }

    @Test
    void aProbeThatLoadedButSawNoDeviceIsNotAvailable() {
        Verdict v = Verdict.of(withProbe(ProbeRunner.interpret(0,
                "{\"cuda_available\":false,\"device_count\":0,\"devices\":[],\"build_config\":\"\"}", "")));
        assertFalse(v.cudaAvailable());
        assertEquals("libtorch's CUDA build loaded, but torch.cuda_is_available() is false", v.reason());
    }

    @Test
    void aProbeAnswerIsReadIntoDevices() {
        ProbeOutcome p = ProbeRunner.interpret(0, "some log line\n{\"cuda_available\":true,\"device_count\":1,\"devices\":"
                + "[{\"index\":0,\"name\":\"NVIDIA H200\",\"memory_mib\":143771,\"compute_capability\":\"9.0\"}],"
                + "\"build_config\":\"TORCH_VERSION=2.10.0, USE_CUDA=1, USE_NCCL=1\"}\n", "");
        assertEquals(ProbeOutcome.Status.ANSWERED, p.status());
        assertEquals(List.of(new GpuDevice(0, "NVIDIA H200", 143771, "9.0", "probe")), p.devices());
        Verdict v = Verdict.of(withProbe(p));
        assertTrue(v.cudaAvailable());
        assertTrue(BuildInfo.parse(p.buildConfig()).cuda());
    }
}
