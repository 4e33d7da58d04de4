package dev.gradguard.amp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Torch;
import dev.gradguard.model.Model;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** libtorch hands back enum values as new objects: compare {@code intern()}ed ones. */
class AutocastTest {
    private static Device cpu;

    @BeforeAll
    static void load() {
        Torch.load();
        cpu = new Device("cpu");
    }

    @AfterEach
    void autocastIsOffAgain() {
        assertFalse(torch.is_autocast_enabled(DeviceType.CPU), "a test left autocast on");
    }

    private static LinearImpl linear() {
        torch.manual_seed(5);
        return new LinearImpl(4, 3);
    }

    @Test
    void linearRunsInTheLowerPrecisionWhileItsWeightsStayFloat32() {
        LinearImpl fc = linear();
        Tensor x = torch.ones(2, 4);
        try (Autocast autocast = Precision.BF16.autocast(cpu)) {
            assertEquals(ScalarType.BFloat16, fc.forward(x).scalar_type().intern());
        }
        try (Autocast autocast = Precision.FP16.autocast(cpu)) {
            assertEquals(ScalarType.Half, fc.forward(x).scalar_type().intern());
            // losses run in float32 under CPU autocast
            assertEquals(ScalarType.Float, torch.mse_loss(fc.forward(x), torch.zeros(2, 3)).scalar_type().intern());
        }
        try (Autocast autocast = Precision.FP32.autocast(cpu)) {
            assertEquals(ScalarType.Float, fc.forward(x).scalar_type().intern());
        }
        assertEquals(ScalarType.Float, fc.forward(x).scalar_type().intern());
        assertEquals(ScalarType.Float, fc.weight().scalar_type().intern());
    }

    @Test
    void theStateFoundOnEntryIsRestoredAfterAnException() {
        ScalarType before = torch.get_autocast_dtype(DeviceType.CPU).intern();
        LinearImpl fc = linear();
        assertThrows(IllegalStateException.class, () -> {
            try (Autocast autocast = Autocast.enable(cpu, ScalarType.Half)) {
                assertTrue(torch.is_autocast_enabled(DeviceType.CPU));
                assertEquals(ScalarType.Half, fc.forward(torch.ones(1, 4)).scalar_type().intern());
                throw new IllegalStateException("the forward pass failed");
            }
        });
        assertFalse(torch.is_autocast_enabled(DeviceType.CPU));
        assertEquals(before, torch.get_autocast_dtype(DeviceType.CPU).intern());
        assertEquals(ScalarType.Float, fc.forward(torch.ones(1, 4)).scalar_type().intern());
    }

    @Test
    void nestedRegionsRestoreTheOuterOne() {
        try (Autocast outer = Autocast.enable(cpu, ScalarType.BFloat16)) {
            try (Autocast inner = Autocast.enable(cpu, ScalarType.Half)) {
                assertEquals(ScalarType.Half, torch.get_autocast_dtype(DeviceType.CPU).intern());
            }
            assertTrue(torch.is_autocast_enabled(DeviceType.CPU));
            assertEquals(ScalarType.BFloat16, torch.get_autocast_dtype(DeviceType.CPU).intern());
        }
    }

    @Test
    void aWeightChangedBetweenRegionsIsSeenByTheNextRegion() {
        // inside one region autocast reuses its bfloat16 copy of a parameter (here the bias); leaving the region
        // must drop it
        LinearImpl fc = linear();
        Tensor x = torch.ones(1, 4);
        double first;
        try (Autocast autocast = Precision.BF16.autocast(cpu)) {
            first = fc.forward(x).sum().item_double();
        }
        try (NoGradGuard noGrad = new NoGradGuard()) {
            fc.weight().add_(torch.ones(3, 4));
            fc.bias().add_(torch.ones(3));
        }
        double second;
        try (Autocast autocast = Precision.BF16.autocast(cpu)) {
            second = fc.forward(x).sum().item_double();
        }
        assertEquals(15.0, second - first, 0.1, "each of the 3 outputs grows by 4 x 1.0 + 1.0");
    }

    /** A model whose forward pass fails under autocast, as an op without a lower-precision kernel does. */
    private static final class AutocastHostile implements Model {
        private final Module module = new Module("hostile");

        @Override
        public Module module() {
            return module;
        }

        @Override
        public Tensor forward(Tensor input) {
            if (torch.is_autocast_enabled(DeviceType.CPU)) {
                throw new RuntimeException("could not create a primitive descriptor\nsecond line");
            }
            return input;
        }
    }

    @Test
    void aForwardPassThatFailsInTheChosenPrecisionIsAUsageErrorNamingTheAlternative() {
        Model hostile = new AutocastHostile();
        Tensor input = torch.ones(1, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Precision.FP16.checkForward(hostile, "hostile", input, cpu));
        assertEquals("precision fp16 is not supported by model hostile on cpu in this libtorch build (could not "
                + "create a primitive descriptor); use precision bf16", e.getMessage());
        Precision.FP32.checkForward(hostile, "hostile", input, cpu);
    }

    @Test
    void precisionNamesAreCheckedAgainstTheAllowedOnes() {
        assertEquals(Precision.BF16, Precision.of("BF16"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Precision.of("fp8"));
        assertEquals("precision must be one of fp32, bf16, fp16, got 'fp8'", e.getMessage());
        assertTrue(Precision.FP16.needsLossScaling());
        assertFalse(Precision.BF16.needsLossScaling());
    }
}
