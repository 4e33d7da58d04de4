package dev.gradguard.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.gradguard.engine.Devices;
import dev.gradguard.engine.Torch;
import java.time.Duration;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The GPU path of data-parallel training, as far as a CPU-only build can check it. */
class NcclPathTest {
    @BeforeAll
    static void load() {
        Torch.load();
    }

    private static boolean cpuBuild() {
        return dev.gradguard.doctor.SystemFacts.nativesLocation("linux-x86_64-gpu") == null;
    }

    @Test
    void askingForNcclWithTheCpuNativesNamesTheFixBeforeAnyRendezvous() {
        assumeTrue(cpuBuild(), "this build has the GPU natives");
        DistEnv env = new DistEnv(0, 2, 0, 2, "127.0.0.1", 1); // port 1: a rendezvous would fail differently
        CollectiveException e = assertThrows(CollectiveException.class,
                () -> ProcessGroups.init(env, Duration.ofSeconds(1), true));
        assertTrue(e.getMessage().startsWith("data-parallel training on GPUs needs NCCL, which this build does not have"),
                e.getMessage());
        assertTrue(e.getMessage().contains("mvn -Pgpu package"), e.getMessage());
        // asked again (the binding's class initialisation has failed once by now), the same answer
        assertThrows(CollectiveException.class, ProcessGroups::requireNcclNatives);
    }

    @Test
    void workersKeepTheCpuAndAnExplicitDeviceAndRefuseGpusThatAreNotThere() {
        assumeTrue(!torch.cuda_is_available(), "a GPU is present");
        assertEquals("cpu", Devices.name(Devices.resolveForWorker("cpu", 1)));
        assertEquals("cpu", Devices.name(Devices.resolveForWorker("auto", 3)), "auto falls back to the CPU");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Devices.resolveForWorker("cuda", 1));
        assertTrue(e.getMessage().contains("CUDA is not usable"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Devices.resolveForWorker("cpu", -1));
    }
}
