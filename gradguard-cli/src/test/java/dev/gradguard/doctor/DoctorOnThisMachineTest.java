package dev.gradguard.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.cli.ExitCodes;
import dev.gradguard.cli.Main;
import dev.gradguard.metrics.Json;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The doctor on the machine running the tests: a CPU build, and (on the build machines) no NVIDIA driver. */
class DoctorOnThisMachineTest {

    @Test
    void doctorJsonOnACpuBuildSaysCudaIsNotAvailableAndWhy() throws Exception {
        assumeFalse(Files.exists(Path.of("/proc/driver/nvidia/version")), "this machine has an NVIDIA driver");
        PrintStream realOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            code = Main.run("doctor", "--json");
        } finally {
            System.setOut(realOut);
        }
        assertEquals(ExitCodes.OK, code);
        JsonNode j = Json.compact().readTree(out.toString(StandardCharsets.UTF_8));
        for (String field : List.of("cuda_available", "reason", "fix", "libtorch_version", "java_version", "natives",
                "devices", "cuda_libraries", "driver", "libtorch_build", "intra_op_threads", "cpu_model", "memory_bytes")) {
            assertTrue(j.has(field), "missing " + field + " in " + j);
        }
        assertFalse(j.get("cuda_available").asBoolean());
        String reason = j.get("reason").asText();
        assertTrue(reason.equals(Verdict.NO_DRIVER) || reason.equals(Verdict.CPU_NATIVES), reason);
        assertEquals("cpu", j.get("natives").asText());
        assertEquals("2.10.0", j.get("libtorch_version").asText());
        assertFalse(j.get("libtorch_build").get("use_cuda").asBoolean());
        assertTrue(j.get("libtorch_build").get("use_gloo").asBoolean());
        assertEquals(CudaLibraries.REQUIRED.size(), j.get("cuda_libraries").size());
        assertFalse(j.get("driver").get("present").asBoolean());
        assertEquals(System.getProperty("java.version"), j.get("java_version").asText());
        assertEquals("not_run", j.get("probe").get("status").asText());
    }

    @Test
    void theTextReportEndsWithTheVerdict() {
        DoctorReport r = DoctorReport.examine(Duration.ofSeconds(30));
        String text = r.toText();
        assertTrue(text.contains("cuda_available  " + r.verdict().cudaAvailable()), text);
        assertTrue(text.contains("reason          " + r.verdict().reason()), text);
        assertTrue(text.contains("natives         cpu"), text);
    }

    @Test
    void aChildKilledBySigsegvIsReportedNotFatal() {
        assumeTrue(Files.isExecutable(Path.of("/bin/sh")), "no /bin/sh");
        ProbeOutcome p = ProbeRunner.run(List.of("/bin/sh", "-c", "echo '# A fatal error' >&2; kill -SEGV $$"), Duration.ofSeconds(20));
        assertEquals(ProbeOutcome.Status.CRASHED, p.status());
        assertEquals(139, p.exitCode());
        assertTrue(p.detail().startsWith("exit 139 (SIGSEGV) without an answer; standard error: # A fatal error"), p.detail());
    }

    @Test
    void aChildThatHangsIsKilledAtTheTimeout() {
        long t0 = System.nanoTime();
        ProbeOutcome p = ProbeRunner.run(List.of("/bin/sh", "-c", "sleep 30"), Duration.ofSeconds(1));
        assertEquals(ProbeOutcome.Status.TIMED_OUT, p.status());
        assertTrue(System.nanoTime() - t0 < 20_000_000_000L, "the child was not killed on time");
    }

    @Test
    void theRealProbeRunsOnTheCpuBuildAndSeesNoCuda() {
        ProbeOutcome p = ProbeRunner.run(ProbeRunner.probeCommand(), Duration.ofSeconds(120));
        assertEquals(ProbeOutcome.Status.ANSWERED, p.status(), p.detail());
        assertFalse(p.cudaAvailable());
        assertEquals("2.10.0", BuildInfo.parse(p.buildConfig()).torchVersion());
    }
}
