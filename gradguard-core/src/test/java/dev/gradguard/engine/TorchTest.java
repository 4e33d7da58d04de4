package dev.gradguard.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.StringOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class TorchTest {

    @Test
    void loadingTurnsOnHugePageAllocationUnlessTheEnvironmentSetsIt() {
        Torch.load();
        String fromEnvironment = System.getenv(Torch.HUGE_PAGE_ALLOCATION);
        StringOptional value = torch.get_env(Torch.HUGE_PAGE_ALLOCATION);
        assertTrue(value.has_value(), "THP_MEM_ALLOC_ENABLE is not set");
        assertEquals(fromEnvironment == null ? "1" : fromEnvironment, value.get().getString());
    }

    @Test
    void withHugePageAllocationLargeCpuBuffersStartOnAPage() {
        Torch.load();
        assumeTrue(System.getenv(Torch.HUGE_PAGE_ALLOCATION) == null, "THP_MEM_ALLOC_ENABLE is set in the environment");
        // c10 aligns buffers to 64 bytes by default, and those of 2 MB and more to the page size with huge-page
        // allocation on; glibc maps a large buffer on its own pages, 64 bytes past the page start at that alignment
        try (PointerScope scope = new PointerScope()) {
            for (int i = 0; i < 3; i++) {
                assertEquals(0, torch.ones(1 << 20).data_ptr().address() % 4096, "4 MB buffer " + i);
            }
        }
    }
}
