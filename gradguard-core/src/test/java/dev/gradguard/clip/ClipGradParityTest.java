package dev.gradguard.clip;

import static dev.gradguard.clip.ClipGradFixtures.assertAllClose;
import static dev.gradguard.clip.ClipGradFixtures.assertClose;
import static dev.gradguard.clip.ClipGradFixtures.cloneWithGrads;
import static dev.gradguard.clip.ClipGradFixtures.gradValues;
import static dev.gradguard.clip.ClipGradFixtures.grads;
import static dev.gradguard.clip.ClipGradFixtures.numel;
import static dev.gradguard.clip.ClipGradFixtures.param;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * ClipGrad against libtorch's own C++ {@code clip_grad_norm_} and {@code clip_grad_value_} on the same
 * randomized (seeded) gradients: the returned norm and every clipped gradient must agree.
 *
 * <p>Known differences, which the cases take into account:
 * <ul>
 *   <li>For {@code p = inf} an empty gradient is an error in libtorch's C++, in PyTorch and in ClipGrad
 *       ({@code max()} of 0 elements): such cases assert that both throw and nothing changed.</li>
 *   <li>libtorch's C++ computes {@code max_norm / (norm + 1e-6)} by division and returns a single
 *       tensor's norm without re-norming it; PyTorch (and ClipGrad) multiply by the reciprocal and always
 *       norm the stacked norms. Both can move the last bit, hence a float tolerance.</li>
 *   <li>Parameters are never listed twice and gradients are float32/float64 only: those deviations from
 *       PyTorch are covered by {@link ClipGradPropertyTest}.</li>
 * </ul>
 */
@SuppressWarnings("try") // each case opens a PointerScope only to free its tensors
class ClipGradParityTest {
    private static final double INF = Double.POSITIVE_INFINITY;
    private static final double[] NORM_TYPES = {1, 2, 3, INF};
    private static final double[] MAX_NORMS = {0, 1e-12, 1e-3, 0.5, 1, 10, 1e6, INF};
    private static final double[] CLIP_VALUES = {0, 1e-3, 0.5, 1, 100, INF};
    private static final long[][] SHAPES = {{}, {0}, {1}, {7}, {40}, {3, 4}, {2, 0, 3}, {2, 3, 5}};

    @BeforeAll
    static void loadTorch() {
        Torch.load();
    }

    static IntStream normSeeds() {
        return IntStream.range(0, 200);
    }

    static IntStream valueSeeds() {
        return IntStream.range(0, 60);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("normSeeds")
    void clipGradNormMatchesLibtorch(int seed) {
        try (PointerScope scope = new PointerScope()) {
            Random rnd = new Random(seed);
            torch.ScalarType dtype = pickDtype(rnd);
            List<Tensor> ours = randomParams(rnd, dtype);
            double normType = NORM_TYPES[rnd.nextInt(NORM_TYPES.length)];
            double maxNorm = MAX_NORMS[rnd.nextInt(MAX_NORMS.length)];
            boolean errorIfNonfinite = rnd.nextInt(4) == 0;
            String what = "seed " + seed + ", p " + normType + ", maxNorm " + maxNorm + ", " + dtype
                    + ", errorIfNonfinite " + errorIfNonfinite;

            List<Tensor> theirs = cloneWithGrads(ours);
            List<Tensor> split = cloneWithGrads(ours);
            List<double[]> before = grads(ours);

            boolean hasEmptyGrad = ours.stream().anyMatch(p -> p.grad().defined() && p.grad().numel() == 0);
            if (normType == INF && hasEmptyGrad) {
                assertThrows(RuntimeException.class, () -> torch.clip_grad_norm_(vector(theirs), maxNorm, normType,
                        errorIfNonfinite), what + ": libtorch throws on the inf norm of an empty gradient");
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> ClipGrad.clipGradNorm(ours, maxNorm, normType, errorIfNonfinite), what);
                assertTrue(e.getMessage().startsWith("normType inf needs every gradient to have elements"),
                        e.getMessage());
                assertThrows(IllegalArgumentException.class,
                        () -> ClipGrad.getTotalNorm(definedGrads(split), normType, false), what + " (split API)");
                for (int i = 0; i < ours.size(); i++) {
                    assertAllClose(before.get(i), gradValues(ours.get(i)), 0, 0, what + ": unchanged, grad " + i);
                }
                return;
            }

            Double libtorchNorm = null;
            try {
                libtorchNorm = torch.clip_grad_norm_(vector(theirs), maxNorm, normType, errorIfNonfinite);
            } catch (RuntimeException e) {
                assertTrue(errorIfNonfinite && e.getMessage().contains("non-finite"), what + ": " + e.getMessage());
            }

            Tensor ourNorm = null;
            try {
                // Both overloads must behave alike; alternate between them.
                ourNorm = seed % 2 == 0
                        ? ClipGrad.clipGradNorm(ours, maxNorm, normType, errorIfNonfinite)
                        : ClipGrad.clipGradNorm(vector(ours), maxNorm, normType, errorIfNonfinite);
            } catch (NonFiniteNormException e) {
                assertTrue(errorIfNonfinite, what);
            }

            assertEquals(libtorchNorm == null, ourNorm == null, what + ": both throw or neither");
            if (ourNorm == null) {
                for (int i = 0; i < ours.size(); i++) {
                    assertAllClose(before.get(i), gradValues(ours.get(i)), 0, 0,
                            what + ": unchanged after throw, grad " + i);
                }
                return;
            }
            double rtol = ClipGradFixtures.rtol(dtype);
            assertEquals(0, ourNorm.dim(), what + ": 0-dim norm");
            assertClose(libtorchNorm, ourNorm.item_double(), rtol, 0, what + ": norm");
            assertGradsClose(theirs, ours, rtol, what);

            Tensor splitNorm = ClipGrad.getTotalNorm(definedGrads(split), normType, false);
            ClipGrad.clipGradsWithNorm(split, maxNorm, splitNorm);
            assertClose(libtorchNorm, splitNorm.item_double(), rtol, 0, what + ": split norm");
            assertGradsClose(theirs, split, rtol, what + " (split API)");
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("valueSeeds")
    void clipGradValueMatchesLibtorch(int seed) {
        try (PointerScope scope = new PointerScope()) {
            Random rnd = new Random(1000 + seed);
            torch.ScalarType dtype = pickDtype(rnd);
            List<Tensor> ours = randomParams(rnd, dtype);
            List<Tensor> theirs = cloneWithGrads(ours);
            double clipValue = CLIP_VALUES[rnd.nextInt(CLIP_VALUES.length)];

            torch.clip_grad_value_(vector(theirs), clipValue);
            if (seed % 2 == 0) {
                ClipGrad.clipGradValue(ours, clipValue);
            } else {
                ClipGrad.clipGradValue(vector(ours), clipValue);
            }
            assertGradsClose(theirs, ours, 0, "seed " + seed + ", clipValue " + clipValue + ", " + dtype);
        }
    }

    /**
     * Python evaluates {@code max_norm / (norm + 1e-6)} as {@code reciprocal(norm + 1e-6) * max_norm}
     * ({@code Tensor.__rtruediv__}); libtorch's C++ {@code operator/} divides. Where the two round apart,
     * ClipGrad matches Python bit for bit.
     */
    @Test
    void coefficientIsRoundedAsInPythonNotAsInCpp() {
        float shifted = 5f + (float) 1e-6; // the norm of {3, 4} plus PyTorch's epsilon, in float32
        float maxNorm = 0;
        for (int i = 1; i < 1000 && maxNorm == 0; i++) {
            float m = i / 100f;
            if ((1f / shifted) * m != m / shifted) {
                maxNorm = m;
            }
        }
        assertTrue(maxNorm > 0, "a maxNorm where division and reciprocal-times-maxNorm round apart");
        float python = (1f / shifted) * maxNorm;
        float cpp = maxNorm / shifted;
        try (PointerScope scope = new PointerScope()) {
            Tensor ours = param(new double[] {3, 4}, new long[] {2}, torch.ScalarType.Float);
            Tensor theirs = param(new double[] {3, 4}, new long[] {2}, torch.ScalarType.Float);
            ClipGrad.clipGradNorm(List.of(ours), maxNorm);
            torch.clip_grad_norm_(vector(List.of(theirs)), maxNorm);
            assertArrayEquals(new double[] {3 * python, 4 * python}, gradValues(ours), "ClipGrad, maxNorm " + maxNorm);
            assertArrayEquals(new double[] {3 * cpp, 4 * cpp}, gradValues(theirs), "libtorch, maxNorm " + maxNorm);
        }
    }

    private static void assertGradsClose(List<Tensor> expected, List<Tensor> actual, double rtol, String what) {
        for (int i = 0; i < actual.size(); i++) {
            double atol = rtol == 0 ? 0 : Float.MIN_NORMAL;
            assertAllClose(gradValues(expected.get(i)), gradValues(actual.get(i)), rtol, atol, what + ": grad " + i);
        }
    }

    /** Mostly float32, some float64, some lists mixing both (null: pick per parameter). */
    private static torch.ScalarType pickDtype(Random rnd) {
        int r = rnd.nextInt(10);
        return r < 6 ? torch.ScalarType.Float : r < 9 ? torch.ScalarType.Double : null;
    }

    private static List<Tensor> randomParams(Random rnd, torch.ScalarType dtype) {
        int n = 1 + rnd.nextInt(6);
        List<Tensor> params = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long[] shape = SHAPES[rnd.nextInt(SHAPES.length)];
            torch.ScalarType type = dtype != null ? dtype
                    : rnd.nextBoolean() ? torch.ScalarType.Float : torch.ScalarType.Double;
            params.add(param(randomGrad(rnd, numel(shape)), shape, type));
        }
        return params;
    }

    /**
     * Mostly Gaussian gradients of varied scale; sometimes missing, all zero, huge (float32's
     * {@code sum g^2} overflows, so the norm is inf), or holding one NaN or one infinity.
     */
    private static double[] randomGrad(Random rnd, int n) {
        int kind = rnd.nextInt(100);
        if (kind < 10) {
            return null;
        }
        double[] g = new double[n];
        if (kind < 18) {
            return g;
        }
        double scale = kind < 26 ? 1e30 : new double[] {1e-3, 1, 100}[rnd.nextInt(3)];
        for (int i = 0; i < n; i++) {
            g[i] = rnd.nextGaussian() * scale;
        }
        if (n > 0 && kind >= 88) {
            g[rnd.nextInt(n)] = kind < 94 ? Double.NaN : (rnd.nextBoolean() ? INF : -INF);
        }
        return g;
    }


    private static List<Tensor> definedGrads(List<Tensor> params) {
        return params.stream().filter(p -> p.grad().defined()).map(Tensor::grad).toList();
    }

    private static TensorVector vector(List<Tensor> tensors) {
        return new TensorVector(tensors.toArray(new Tensor[0]));
    }
}
