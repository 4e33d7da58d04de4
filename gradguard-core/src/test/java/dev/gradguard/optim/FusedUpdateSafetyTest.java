package dev.gradguard.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.io.IOException;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A refused update of gradguard's optimizers leaves the parameters and the optimizer state bit-identical,
 * whatever made it non-finite: the learning rate, eps 0, or the state itself overflowing.
 */
class FusedUpdateSafetyTest {
    private static final BitSet NONE = new BitSet();

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        Torch.load();
        Torch.setThreads(1);
    }

    private static Parameters weights(float... values) {
        return Parameters.of(List.of("w"), List.of(Tensors.fromFloats(values, values.length).requires_grad_(true)));
    }

    private static void grad(Parameters p, float... values) {
        p.get(0).mutable_grad().put(Tensors.fromFloats(values, values.length));
    }

    private static float[] values(Parameters p) {
        return Tensors.toFloats(p.get(0).detach());
    }

    @Test
    void anSgdUpdateThatOverflowsLeavesWeightsAndMomentumBitIdentical() throws IOException {
        OptimizerSpec spec = OptimizerSpec.sgd(0.1).withMomentum(0.9);
        Parameters guarded = weights(1, 2, 3);
        Parameters reference = weights(1, 2, 3);
        FusedOptimizer optimizer = Optimizers.create(spec, guarded);
        FusedOptimizer untouched = Optimizers.create(spec, reference);
        grad(guarded, 1, 1, 1);
        grad(reference, 1, 1, 1);
        assertTrue(optimizer.checkedStep(0.1, NONE).isEmpty());
        untouched.step(0.1, NONE);
        float[] weightsBefore = values(guarded);
        Map<String, float[]> stateBefore = OptimizerStates.values(OptimizerStates.roundTrip(optimizer, tmp));

        // 0.9 * 1 + 1 = 1.9 in the buffer, times 3e38 is beyond float32
        Optional<String> refused = optimizer.checkedStep(3e38, NONE);

        assertEquals(Optional.of("the update made parameter w non-finite (lr 3.0E38)"), refused);
        assertArrayEquals(weightsBefore, values(guarded), 0f);
        assertStatesEqual(stateBefore, OptimizerStates.values(OptimizerStates.roundTrip(optimizer, tmp)));
        assertEquals(0.1, optimizer.lr());
        assertTrue(optimizer.checkedStep(0.1, NONE).isEmpty());
        untouched.step(0.1, NONE);
        assertArrayEquals(values(reference), values(guarded), 0f, "the refused step left no trace in the momentum");
    }

    @Test
    void adamWithEpsZeroAndZeroGradientsIsRefusedAndItsStepCountStaysAtZero() throws IOException {
        Parameters p = weights(1, -1);
        FusedOptimizer adam = Optimizers.create(OptimizerSpec.adam(0.1).withEps(0), p);
        grad(p, 0, 0);

        Optional<String> refused = adam.checkedStep(0.1, NONE);

        assertTrue(refused.orElseThrow().startsWith("the update made parameter w non-finite"), refused.get());
        assertArrayEquals(new float[] {1, -1}, values(p), 0f);
        assertTrue(OptimizerStates.values(OptimizerStates.roundTrip(adam, tmp)).isEmpty(),
                "no state: the parameter was never updated");
        // the next step is Adam's first: lr * sign(g) with bias correction, as if the refused one never ran
        grad(p, 0.5f, -0.25f);
        assertTrue(adam.checkedStep(0.1, NONE).isEmpty());
        assertArrayEquals(new float[] {0.9f, -0.9f}, values(p), 1e-6f);
        assertEquals(1f, OptimizerStates.values(OptimizerStates.roundTrip(adam, tmp)).get("0/step")[0]);
    }

    @Test
    void aSecondMomentThatOverflowsIsRefusedThoughTheWeightsWouldStayFinite() throws IOException {
        Parameters p = weights(1, 2);
        FusedOptimizer adam = Optimizers.create(OptimizerSpec.adam(0.01), p);
        grad(p, 1, 1);
        assertTrue(adam.checkedStep(0.01, NONE).isEmpty());
        float[] weightsBefore = values(p);
        Map<String, float[]> stateBefore = OptimizerStates.values(OptimizerStates.roundTrip(adam, tmp));
        grad(p, 1e30f, 1);

        Optional<String> refused = adam.checkedStep(0.01, NONE);

        // (1 - beta2) * g^2 = 1e57 overflows float32; m / (sqrt(inf) + eps) = 0 would have left the weight finite
        assertEquals(Optional.of("the update made exp_avg_sq of w non-finite (lr 0.01)"), refused);
        assertArrayEquals(weightsBefore, values(p), 0f);
        assertStatesEqual(stateBefore, OptimizerStates.values(OptimizerStates.roundTrip(adam, tmp)));
    }

    @Test
    void anUpdateOfHugeButFiniteWeightsIsAppliedThoughTheirSquaresOverflow() {
        // the 2-norm of (2.5e38, -2.5e38, 2.5e38) is beyond float32, so the check's fast sum of 2-norms is
        // infinite however it accumulates: the exact check decides
        Parameters guarded = weights(2.5e38f, -2.5e38f, 2.5e38f);
        Parameters reference = weights(2.5e38f, -2.5e38f, 2.5e38f);
        FusedOptimizer optimizer = Optimizers.create(OptimizerSpec.sgd(0.5).withMomentum(0.9), guarded);
        FusedOptimizer untouched = Optimizers.create(OptimizerSpec.sgd(0.5).withMomentum(0.9), reference);
        for (int step = 0; step < 2; step++) {
            grad(guarded, 1e37f, 2, 4);
            grad(reference, 1e37f, 2, 4);

            assertTrue(optimizer.checkedStep(0.5, NONE).isEmpty(), "step " + step);
            untouched.step(0.5, NONE);
        }
        float[] expected = values(reference);
        assertArrayEquals(expected, values(guarded), 0f);
        // the first weight moved by 0.5 * 1e37 and then 0.5 * 1.9e37 (momentum): 2.5e38 - 1.45e37
        assertEquals(2.5e38 - 1.45e37, expected[0], 1e32);
    }

    @Test
    void aNonFiniteValueInOneOfManyTensorsIsFoundAndNamed() throws IOException {
        Parameters p = Parameters.of(List.of("a", "b", "c"),
                List.of(Tensors.fromFloats(new float[] {1, 2}, 2).requires_grad_(true),
                        Tensors.fromFloats(new float[] {3e38f, 1}, 2).requires_grad_(true),
                        Tensors.fromFloats(new float[] {4}, 1).requires_grad_(true)));
        FusedOptimizer sgd = Optimizers.create(OptimizerSpec.sgd(1), p);
        for (int i = 0; i < 3; i++) {
            p.get(i).mutable_grad().put(torch.full_like(p.get(i), new org.bytedeco.pytorch.Scalar(-1e38)));
        }

        // 3e38 + 1e38 is beyond float32 in parameter b only; a and c stay finite
        Optional<String> refused = sgd.checkedStep(1, NONE);

        assertEquals(Optional.of("the update made parameter b non-finite (lr 1.0)"), refused);
        assertArrayEquals(new float[] {3e38f, 1}, Tensors.toFloats(p.get(1).detach()), 0f);
        assertArrayEquals(new float[] {1, 2}, Tensors.toFloats(p.get(0).detach()), 0f);
    }

    @Test
    void anUncheckedStepRejectsALearningRateThatIsNotFinite() {
        Parameters p = weights(1);
        FusedOptimizer sgd = Optimizers.create(OptimizerSpec.sgd(0.1), p);
        grad(p, 1);
        assertEquals("lr must be finite and >= 0, got NaN",
                assertThrows(IllegalArgumentException.class, () -> sgd.step(Double.NaN, NONE)).getMessage());
        assertEquals(Optional.of("learning rate is Infinity (must be finite and >= 0)"),
                sgd.checkedStep(Double.POSITIVE_INFINITY, NONE));
        assertArrayEquals(new float[] {1}, values(p), 0f);
    }

    @Test
    void aWithheldParameterWithoutGradientIsLeftAloneAndOneWithoutIsNamed() {
        Parameters p = Parameters.of(List.of("a", "b"),
                List.of(Tensors.fromFloats(new float[] {1}, 1).requires_grad_(true),
                        Tensors.fromFloats(new float[] {2}, 1).requires_grad_(true)));
        FusedOptimizer adamw = Optimizers.create(OptimizerSpec.adamw(0.1), p);
        p.get(0).mutable_grad().put(Tensors.fromFloats(new float[] {1}, 1));
        BitSet withheld = new BitSet();
        withheld.set(1);
        assertTrue(adamw.checkedStep(0.1, withheld).isEmpty());
        assertArrayEquals(new float[] {2}, Tensors.toFloats(p.get(1).detach()), 0f, "no weight decay without gradient");
        assertFalse(Tensors.toFloats(p.get(0).detach())[0] == 1f);
        assertEquals("parameter 'b' has no gradient: withhold it from the step",
                assertThrows(IllegalArgumentException.class, () -> adamw.step(0.1, NONE)).getMessage());
    }

    private static void assertStatesEqual(Map<String, float[]> expected, Map<String, float[]> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String key : expected.keySet()) {
            assertArrayEquals(expected.get(key), actual.get(key), 0f, key);
        }
    }
}
