package dev.gradguard.clip;

import static dev.gradguard.clip.ClipGradFixtures.assertAllClose;
import static dev.gradguard.clip.ClipGradFixtures.assertClose;
import static dev.gradguard.clip.ClipGradFixtures.cloneWithGrads;
import static dev.gradguard.clip.ClipGradFixtures.gradValues;
import static dev.gradguard.clip.ClipGradFixtures.grads;
import static dev.gradguard.clip.ClipGradFixtures.numel;
import static dev.gradguard.clip.ClipGradFixtures.param;
import static dev.gradguard.clip.ClipGradFixtures.rtol;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Torch;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongArrayRefOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GradBuffer against {@link ClipGrad} on the same randomized (seeded) gradients: the norm, its dtype and
 * every gradient after clipping must agree. Binding gives parameters without a gradient zeros, so the
 * reference runs on clones taken after binding, with the same zero gradients.
 */
@SuppressWarnings("try") // each case opens a PointerScope only to free its tensors
class GradBufferParityTest {
    private static final double INF = Double.POSITIVE_INFINITY;
    private static final double[] NORM_TYPES = {1, 2, 3, INF};
    private static final double[] MAX_NORMS = {0, 1e-3, 0.5, 1, 10, 1e6, INF};
    private static final double[] CLIP_VALUES = {0, 1e-3, 0.5, 1, 100, INF};
    private static final long[][] SHAPES = {{}, {0}, {1}, {7}, {40}, {3, 4}, {2, 0, 3}, {2, 3, 5}, {100, 90}};

    @BeforeAll
    static void loadTorch() {
        Torch.load();
    }

    static IntStream seeds() {
        return IntStream.range(0, 300);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void clipNormMatchesClipGrad(int seed) {
        try (PointerScope scope = new PointerScope()) {
            Random rnd = new Random(seed);
            torch.ScalarType dtype = pickDtype(rnd);
            List<Tensor> params = randomParams(rnd, dtype);
            double normType = NORM_TYPES[rnd.nextInt(NORM_TYPES.length)];
            double maxNorm = MAX_NORMS[rnd.nextInt(MAX_NORMS.length)];
            boolean errorIfNonfinite = rnd.nextInt(4) == 0;
            String what = "seed " + seed + ", p " + normType + ", maxNorm " + maxNorm + ", " + dtype
                    + ", errorIfNonfinite " + errorIfNonfinite;

            GradBuffer buffer = GradBuffer.bind(params);
            List<Tensor> reference = cloneOnce(params);
            List<double[]> before = grads(params);

            Tensor expected = null;
            try {
                expected = ClipGrad.clipGradNorm(reference, maxNorm, normType, errorIfNonfinite);
            } catch (NonFiniteNormException e) {
                assertTrue(errorIfNonfinite, what);
            } catch (IllegalArgumentException e) {
                assertTrue(normType == INF && hasEmptyGradient(params), what + ": " + e.getMessage());
            }
            Tensor actual = null;
            try {
                actual = buffer.clipNorm(maxNorm, normType, errorIfNonfinite);
            } catch (NonFiniteNormException e) {
                assertTrue(errorIfNonfinite, what);
            } catch (IllegalArgumentException e) {
                assertTrue(normType == INF && hasEmptyGradient(params), what + ": " + e.getMessage());
                assertTrue(e.getMessage().startsWith("normType inf needs every gradient to have elements"),
                        e.getMessage());
            }

            assertEquals(expected == null, actual == null, what + ": both throw or neither");
            if (actual == null) {
                for (int i = 0; i < params.size(); i++) {
                    assertAllClose(before.get(i), gradValues(params.get(i)), 0, 0, what + ": unchanged, grad " + i);
                }
                return;
            }
            assertNormsAgree(expected, actual, rtol(dtype), what);
            assertGradsClose(reference, params, rtol(dtype), what);
            assertEquals(0, buffer.rebinds(), what + ": nothing to rebind");
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void splitApiMatchesClipGrad(int seed) {
        try (PointerScope scope = new PointerScope()) {
            Random rnd = new Random(5000 + seed);
            torch.ScalarType dtype = pickDtype(rnd);
            List<Tensor> params = randomParams(rnd, dtype);
            double normType = NORM_TYPES[rnd.nextInt(NORM_TYPES.length)];
            double maxNorm = MAX_NORMS[rnd.nextInt(MAX_NORMS.length)];
            String what = "seed " + seed + ", p " + normType + ", maxNorm " + maxNorm;

            GradBuffer buffer = GradBuffer.bind(params);
            List<Tensor> reference = cloneOnce(params);
            if (normType == INF && hasEmptyGradient(params)) {
                assertThrows(IllegalArgumentException.class,
                        () -> ClipGrad.getTotalNorm(Gradients.of(reference), normType, false), what);
                assertThrows(IllegalArgumentException.class, () -> buffer.totalNorm(normType), what);
                return;
            }

            Tensor expected = ClipGrad.getTotalNorm(Gradients.of(reference), normType, false);
            Tensor actual = buffer.totalNorm(normType);
            assertNormsAgree(expected, actual, rtol(dtype), what);

            // each side clips with the same externally reduced norm, here the reference's
            ClipGrad.clipGradsWithNorm(reference, maxNorm, expected);
            buffer.clipGradsWithNorm(maxNorm, expected);
            assertGradsClose(reference, params, rtol(dtype), what);
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void clipValueMatchesClipGrad(int seed) {
        try (PointerScope scope = new PointerScope()) {
            Random rnd = new Random(9000 + seed);
            List<Tensor> params = randomParams(rnd, pickDtype(rnd));
            double clipValue = CLIP_VALUES[rnd.nextInt(CLIP_VALUES.length)];
            GradBuffer buffer = GradBuffer.bind(params);
            List<Tensor> reference = cloneOnce(params);

            ClipGrad.clipGradValue(reference, clipValue);
            buffer.clipValue(clipValue);
            for (int i = 0; i < params.size(); i++) {
                assertAllClose(gradValues(reference.get(i)), gradValues(params.get(i)), 0, 0,
                        "seed " + seed + ", clipValue " + clipValue + ", grad " + i);
            }
        }
    }

    private static boolean hasEmptyGradient(List<Tensor> params) {
        return params.stream().anyMatch(p -> p.grad().defined() && p.grad().numel() == 0);
    }

    /** Half and bfloat16 gradients: the norm accumulates (and is returned) in float32, as in ClipGrad. */
    @ParameterizedTest
    @ValueSource(strings = {"Half", "BFloat16"})
    void reducedPrecisionNormsAreFloat32AsInClipGrad(String type) {
        try (PointerScope scope = new PointerScope()) {
            torch.ScalarType dtype = torch.ScalarType.valueOf(type);
            for (int seed = 0; seed < 20; seed++) {
                Random rnd = new Random(seed);
                List<Tensor> params = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    long[] shape = SHAPES[rnd.nextInt(SHAPES.length)];
                    // sum g^2 overflows float16
                    params.add(param(gaussian(rnd, numel(shape), 300), shape, dtype).requires_grad_(true));
                }
                double normType = NORM_TYPES[seed % NORM_TYPES.length];
                if (normType == INF && hasEmptyGradient(params)) {
                    continue; // an error on both sides, as clipNormMatchesClipGrad shows
                }
                String what = type + ", seed " + seed + ", p " + normType;
                GradBuffer buffer = GradBuffer.bind(params);
                List<Tensor> reference = cloneWithGrads(params);

                Tensor expected = ClipGrad.clipGradNorm(reference, 1.0, normType, false);
                Tensor actual = buffer.clipNorm(1.0, normType);
                assertEquals(torch.ScalarType.Float, actual.scalar_type().intern(), what + ": norm dtype");
                assertClose(expected.item_double(), actual.item_double(), 1e-5, 0, what + ": norm");
                for (int i = 0; i < params.size(); i++) {
                    assertAllClose(gradValues(reference.get(i)), gradValues(params.get(i)), 1e-2, 1e-6,
                            what + ": grad " + i);
                }
            }
        }
    }

    /**
     * One float32 reduction over tens of millions of elements drifts by about 1e-3; the row-wise reduction
     * must stay within 1e-6 of the float64 answer for the 2-norm (1e-5 for the other orders).
     */
    @Test
    void normOfABigFloat32BufferMatchesFloat64() {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(7);
            List<Tensor> params = new ArrayList<>();
            for (long n : new long[] {10_000_000, 7_000_003, 5_000_000, 3_000_000, 1_000}) {
                Tensor p = torch.zeros(n).requires_grad_(true);
                p.mutable_grad().put(torch.randn(n).mul_(new Scalar(1e-3)).add_(new Scalar(2e-4)));
                params.add(p);
            }
            GradBuffer buffer = GradBuffer.bind(params);
            for (double normType : NORM_TYPES) {
                double expected = float64Norm(params, normType);
                double actual = buffer.totalNorm(normType).item_double();
                double relative = Math.abs(actual - expected) / expected;
                assertTrue(relative <= (normType == 2 ? 1e-6 : 1e-5),
                        "p " + normType + ": " + actual + " vs float64 " + expected + ", relative " + relative);
            }
        }
    }

    /** Per-tensor norms accumulated in float64, combined in Java. */
    private static double float64Norm(List<Tensor> params, double normType) {
        double max = 0;
        double sum = 0;
        for (Tensor p : params) {
            double norm = torch.linalg_vector_norm(p.grad(), new Scalar(normType), new LongArrayRefOptional(), false,
                    new ScalarTypeOptional(torch.ScalarType.Double)).item_double();
            max = Math.max(max, norm);
            sum += Math.pow(norm, normType);
        }
        return normType == INF ? max : Math.pow(sum, 1 / normType);
    }

    private static void assertNormsAgree(Tensor expected, Tensor actual, double rtol, String what) {
        assertEquals(0, actual.dim(), what + ": 0-dim norm");
        assertEquals(expected.scalar_type().intern(), actual.scalar_type().intern(), what + ": norm dtype");
        assertTrue(actual.device().is_cpu(), what + ": norm on the CPU");
        assertClose(expected.item_double(), actual.item_double(), rtol, 0, what + ": norm");
    }

    private static void assertGradsClose(List<Tensor> expected, List<Tensor> actual, double rtol, String what) {
        for (int i = 0; i < actual.size(); i++) {
            assertAllClose(gradValues(expected.get(i)), gradValues(actual.get(i)), rtol, Float.MIN_NORMAL,
                    what + ": grad " + i);
        }
    }

    /** Mostly float32, some float64, some lists mixing both (null: pick per parameter, two buffers). */
    private static torch.ScalarType pickDtype(Random rnd) {
        int r = rnd.nextInt(10);
        return r < 5 ? torch.ScalarType.Float : r < 7 ? torch.ScalarType.Double : null;
    }

    /**
     * 1 to 6 parameters; some without a gradient, some of those not requiring grad (skipped by binding), and
     * sometimes one parameter listed twice (bound once, and counted once by ClipGrad too).
     */
    private static List<Tensor> randomParams(Random rnd, torch.ScalarType dtype) {
        int n = 1 + rnd.nextInt(6);
        List<Tensor> params = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long[] shape = SHAPES[rnd.nextInt(SHAPES.length)];
            torch.ScalarType type = dtype != null ? dtype
                    : rnd.nextBoolean() ? torch.ScalarType.Float : torch.ScalarType.Double;
            Tensor p = param(randomGrad(rnd, numel(shape)), shape, type);
            p.requires_grad_(p.grad().defined() || rnd.nextInt(4) != 0);
            params.add(p);
        }
        if (rnd.nextInt(6) == 0) {
            params.add(params.get(rnd.nextInt(params.size())));
        }
        return params;
    }

    /**
     * Mostly Gaussian gradients of varied scale; sometimes missing, all zero, huge (float32's
     * {@code sum g^2} overflows, so the norm is inf), or holding one NaN or one infinity. Huge gradients
     * have several elements: libtorch's norm of one element is {@code |g|}, never squared (a documented
     * deviation).
     */
    private static double[] randomGrad(Random rnd, int n) {
        int kind = rnd.nextInt(100);
        if (kind < 10) {
            return null;
        }
        if (kind < 18) {
            return new double[n];
        }
        boolean huge = kind < 26 && n > 1;
        double[] g = gaussian(rnd, n, huge ? 1e30 : new double[] {1e-3, 1, 100}[rnd.nextInt(3)]);
        if (n > 0 && kind >= 88) {
            g[rnd.nextInt(n)] = kind < 94 ? Double.NaN : (rnd.nextBoolean() ? INF : -INF);
        }
        return g;
    }

    private static double[] gaussian(Random rnd, int n, double scale) {
        double[] g = new double[n];
        for (int i = 0; i < n; i++) {
            g[i] = rnd.nextGaussian() * scale;
        }
        return g;
    }

    /** {@link ClipGradFixtures#cloneWithGrads}, with a parameter listed twice cloned once (and listed twice). */
    private static List<Tensor> cloneOnce(List<Tensor> params) {
        Map<Tensor, Tensor> clones = new IdentityHashMap<>();
        List<Tensor> out = new ArrayList<>();
        for (Tensor p : params) {
            out.add(clones.computeIfAbsent(p, q -> cloneWithGrads(List.of(q)).get(0)));
        }
        return out;
    }
}
