package dev.gradguard.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class DevicesTest {

    @Test
    void cpuIsTheCpuAndAutoFallsBackToItWithoutCuda() {
        assertEquals("cpu", Devices.name(Devices.resolve("cpu")));
        assertEquals("cpu", Devices.name(Devices.resolve(" CPU ")));
        Torch.load();
        assertEquals(torch.cuda_is_available() ? "cuda:0" : "cpu", Devices.name(Devices.resolve("auto")));
    }

    @Test
    void aGpuWithoutUsableCudaIsRefusedWithTheWayToFindOutWhy() {
        Torch.load();
        assumeFalse(torch.cuda_is_available(), "this machine has a usable GPU");
        assertEquals("device cuda:1: CUDA is not usable on this machine (run 'gradguard doctor' to see why; "
                + "device auto falls back to the CPU)",
                assertThrows(IllegalArgumentException.class, () -> Devices.resolve("cuda:1")).getMessage());
    }

    @Test
    void synchronizingTheCpuDoesNothing() {
        // libtorch's CUDA synchronize throws "No CUDA GPUs are available" with the CPU natives
        Devices.synchronize(Devices.resolve("cpu"));
    }

    @Test
    void unknownFormsNameTheAllowedOnes() {
        assertEquals("device must be one of auto, cpu, cuda, cuda:N, got 'tpu'",
                assertThrows(IllegalArgumentException.class, () -> Devices.resolve("tpu")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Devices.resolve("cuda:x"));
    }
}
