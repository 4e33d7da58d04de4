package dev.gradguard.amp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.metrics.Json;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GradScalerTest {

    @BeforeAll
    static void load() {
        Torch.load();
    }

    /** A parameter whose gradient is {@code grad}: (p * grad).sum().backward(). */
    private static Tensor paramWithGrad(float... grad) {
        Tensor p = Tensors.fromFloats(new float[grad.length], grad.length).requires_grad_(true);
        p.mul(Tensors.fromFloats(grad, grad.length)).sum().backward();
        return p;
    }

    /** One scripted step: unscale a gradient that is finite or not, then update. */
    private static void step(GradScaler s, boolean finite) {
        s.unscale(List.of(paramWithGrad(finite ? 1f : Float.POSITIVE_INFINITY)));
        s.update();
    }

    @Test
    void defaultsArePyTorchs() {
        GradScaler s = GradScaler.withDefaults();
        assertEquals(65536.0, s.scale());
        assertEquals(Map.of("scale", 65536.0, "growth_factor", 2.0, "backoff_factor", 0.5, "growth_interval", 2000,
                "_growth_tracker", 0), s.stateDict());
    }

    @Test
    void scaleGrowsAfterEachGrowthIntervalOfFiniteSteps() {
        GradScaler s = new GradScaler(8.0, 2.0, 0.5, 3, true);
        step(s, true);
        step(s, true);
        assertEquals(8.0, s.scale());
        assertEquals(2, s.growthTracker());
        step(s, true);
        assertEquals(16.0, s.scale());
        assertEquals(0, s.growthTracker());
        for (int i = 0; i < 6; i++) {
            step(s, true);
        }
        assertEquals(64.0, s.scale());
    }

    @Test
    void anInfBacksOffAndResetsTheTracker() {
        GradScaler s = new GradScaler(1024.0, 2.0, 0.5, 3, true);
        step(s, true);
        step(s, true);
        s.unscale(List.of(paramWithGrad(1f, Float.NaN)));
        assertFalse(s.shouldStep());
        s.update();
        assertEquals(512.0, s.scale());
        assertEquals(0, s.growthTracker());
        // the two good steps before the NaN no longer count: growth needs three new ones
        step(s, true);
        step(s, true);
        assertEquals(512.0, s.scale());
        step(s, true);
        assertEquals(1024.0, s.scale());
    }

    @Test
    void aScriptedSequenceEndsAtTheExpectedScale() {
        GradScaler s = new GradScaler(65536.0, 2.0, 0.5, 2, true);
        boolean[] finite = {false, false, true, true, true, false, true, true, true, true};
        // 65536 -> 32768 -> 16384 -> (1) -> 32768 -> (1) -> 16384 -> (1) -> 32768 -> (1) -> 65536
        for (boolean f : finite) {
            step(s, f);
        }
        assertEquals(65536.0, s.scale());
        assertEquals(0, s.growthTracker());
    }

    @Test
    void scaleMultipliesTheLoss() {
        GradScaler s = new GradScaler(1024.0, 2.0, 0.5, 2000, true);
        assertArrayEquals(new float[] {3072f}, Tensors.toFloats(s.scale(Tensors.fromFloats(new float[] {3f}, 1))));
    }

    @Test
    void unscaleDividesTheGradientsExactlyAndSkipsParametersWithoutOne() {
        GradScaler s = new GradScaler(65536.0, 2.0, 0.5, 2000, true);
        Tensor p = Tensors.fromFloats(new float[] {1f, 2f, 3f}, 3).requires_grad_(true);
        Tensor noGrad = Tensors.fromFloats(new float[] {5f}, 1).requires_grad_(true);
        float[] real = {0.1f, -3e-5f, 7f};
        s.scale(p.mul(Tensors.fromFloats(real, 3)).sum()).backward();
        assertArrayEquals(new float[] {0.1f * 65536f, -3e-5f * 65536f, 7f * 65536f}, Tensors.toFloats(p.grad()));
        assertFalse(s.unscale(List.of(p, noGrad)));
        assertArrayEquals(real, Tensors.toFloats(p.grad()), 0f);
        assertTrue(s.shouldStep());
    }

    @Test
    void unscaleTwiceInOneStepThrowsLikePyTorch() {
        GradScaler s = GradScaler.withDefaults();
        Tensor p = paramWithGrad(1f);
        s.unscale(List.of(p));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.unscale(List.of(p)));
        assertEquals("unscale() has already been called since the last update()", e.getMessage());
        s.update();
        s.unscale(List.of(p));
    }

    @Test
    void shouldStepAndUpdateNeedAnUnscaleFirst() {
        GradScaler s = GradScaler.withDefaults();
        assertThrows(IllegalStateException.class, s::shouldStep);
        assertThrows(IllegalStateException.class, s::update);
    }

    @Test
    void theScaleNeverGrowsToInfinity() {
        GradScaler s = new GradScaler(Float.MAX_VALUE, 2.0, 0.5, 1, true);
        step(s, true);
        assertEquals(Float.MAX_VALUE, s.scale());
    }

    @Test
    void stateRoundTripsThroughJson() throws Exception {
        GradScaler s = new GradScaler(1024.0, 2.0, 0.5, 5, true);
        step(s, false);
        step(s, true);
        step(s, true);
        @SuppressWarnings("unchecked")
        Map<String, Object> saved = Json.compact().readValue(Json.compact().writeValueAsString(s.stateDict()), Map.class);
        GradScaler restored = new GradScaler(1.0, 3.0, 0.25, 7, true);
        restored.loadStateDict(saved);
        assertEquals(s.stateDict(), restored.stateDict());
        for (boolean f : new boolean[] {true, true, true, false, true}) {
            step(s, f);
            step(restored, f);
            assertEquals(s.scale(), restored.scale());
            assertEquals(s.growthTracker(), restored.growthTracker());
        }
        assertThrows(IllegalArgumentException.class, () -> restored.loadStateDict(Map.of()));
    }

    @Test
    void disabledIsAPassThrough() {
        GradScaler s = new GradScaler(65536.0, 2.0, 0.5, 2000, false);
        Tensor loss = Tensors.fromFloats(new float[] {2f}, 1);
        assertSame(loss, s.scale(loss));
        Tensor p = paramWithGrad(Float.POSITIVE_INFINITY);
        assertFalse(s.unscale(List.of(p)));
        assertFalse(s.unscale(List.of(p)), "no once-per-step rule when disabled");
        assertTrue(s.shouldStep());
        s.update();
        assertEquals(1.0, s.scale());
        assertTrue(s.stateDict().isEmpty());
    }

    @Test
    void nextScaleIsTheScaleUpdateSets() {
        GradScaler s = new GradScaler(1024.0, 2.0, 0.5, 2, true);
        s.unscale(List.of(paramWithGrad(1f)));
        assertEquals(1024.0, s.nextScale(), "the first finite step of two");
        s.update();
        s.unscale(List.of(paramWithGrad(1f)));
        assertEquals(2048.0, s.nextScale(), "the second completes the growth interval");
        s.update();
        assertEquals(2048.0, s.scale());
        s.unscale(List.of(paramWithGrad(Float.NaN)));
        assertEquals(1024.0, s.nextScale());
        s.update();
        assertEquals(1024.0, s.scale());
        assertThrows(IllegalStateException.class, s::nextScale);
        assertEquals(1.0, GradScaler.disabled().nextScale());
    }

    @Test
    void anotherRanksOverflowSkipsAndBacksOffHereToo() {
        GradScaler s = new GradScaler(1024.0, 2.0, 0.5, 2000, true);
        List<Boolean> asked = new java.util.ArrayList<>();
        boolean agreed = s.unscale(List.of(paramWithGrad(1f)), local -> {
            asked.add(local);
            return true;
        });
        assertEquals(List.of(false), asked, "this rank's own finding is what gets combined");
        assertTrue(agreed);
        assertFalse(s.shouldStep());
        s.update();
        assertEquals(512.0, s.scale());
    }

    @Test
    void unscaleWorksInPlaceOnGradientsBoundIntoAFlatBuffer() {
        Tensor a = Tensors.fromFloats(new float[] {1f, 2f}, 2).requires_grad_(true);
        Tensor b = Tensors.fromFloats(new float[] {3f}, 1).requires_grad_(true);
        dev.gradguard.clip.GradBuffer buffer = dev.gradguard.clip.GradBuffer.bind(List.of(a, b),
                dev.gradguard.clip.GradBuffer.Mode.STRICT);
        GradScaler s = new GradScaler(256.0, 2.0, 0.5, 2000, true);
        s.scale(a.mul(Tensors.fromFloats(new float[] {0.5f, -4f}, 2)).sum().add(b.mul(
                Tensors.fromFloats(new float[] {0.25f}, 1)).sum())).backward();
        assertFalse(s.unscale(List.of(a, b)));
        // STRICT: throws if unscale had replaced a gradient instead of writing into the buffer
        List<Tensor> flat = buffer.flatTensors();
        assertArrayEquals(new float[] {0.5f, -4f, 0.25f}, Tensors.toFloats(flat.get(0)), 0f);
        assertEquals(0, buffer.rebinds());
    }

    @Test
    void badSettingsAreNamed() {
        assertEquals("growthFactor must be > 1.0, got 1.0",
                assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 1.0, 0.5, 1, true)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(0, 2.0, 0.5, 1, true));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 2.0, 1.0, 1, true));
        assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 2.0, 0.5, 0, true));
    }
}
