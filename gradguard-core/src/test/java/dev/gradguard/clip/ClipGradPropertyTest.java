package dev.gradguard.clip;

import static dev.gradguard.clip.ClipGradFixtures.assertAllClose;
import static dev.gradguard.clip.ClipGradFixtures.assertClose;
import static dev.gradguard.clip.ClipGradFixtures.cloneWithGrads;
import static dev.gradguard.clip.ClipGradFixtures.gradValues;
import static dev.gradguard.clip.ClipGradFixtures.param;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Properties ClipGrad must have on any gradients, and its two documented deviations from PyTorch. */
class ClipGradPropertyTest {
    private static final double INF = Double.POSITIVE_INFINITY;
    private static final double[] NORM_TYPES = {1, 2, 3, INF};

    private PointerScope scope;

    @BeforeAll
    static void loadTorch() {
        Torch.load();
    }

    @BeforeEach
    void openScope() {
        scope = new PointerScope();
    }

    @AfterEach
    void closeScope() {
        scope.close();
    }

    static IntStream seeds() {
        return IntStream.range(0, 24);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void clippedNormIsAtMostMaxNormAndDirectionIsKept(int seed) {
        Random rnd = new Random(seed);
        double normType = NORM_TYPES[seed % NORM_TYPES.length];
        torch.ScalarType dtype = seed % 3 == 0 ? torch.ScalarType.Double : torch.ScalarType.Float;
        List<Tensor> params = randomParams(rnd, dtype);
        double[] before = flatGrads(params);
        double maxNorm = 0.5 + rnd.nextDouble() * 5;

        double norm = ClipGrad.clipGradNorm(params, maxNorm, normType, false).item_double();
        double[] after = flatGrads(params);

        assertClose(pNorm(before, normType), norm, 1e-5, 0, "returned norm is the pre-clip norm");
        assertTrue(pNorm(after, normType) <= maxNorm * (1 + 1e-5),
                "post-clip norm " + pNorm(after, normType) + " > maxNorm " + maxNorm);
        assertClose(1.0, cosine(before, after), 1e-6, 0, "cosine between original and clipped gradients");
        if (norm <= maxNorm * (1 - 1e-5)) {
            assertAllClose(before, after, 1e-6, 0, "a norm under maxNorm leaves the gradients as they were");
        } else {
            assertClose(maxNorm, pNorm(after, normType), 1e-5, 0, "a norm over maxNorm is scaled to maxNorm");
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void clippingTwiceChangesNothingMore(int seed) {
        Random rnd = new Random(100 + seed);
        double normType = NORM_TYPES[seed % NORM_TYPES.length];
        List<Tensor> params = randomParams(rnd, torch.ScalarType.Float);
        double maxNorm = 0.5 + rnd.nextDouble() * 5;

        ClipGrad.clipGradNorm(params, maxNorm, normType, false);
        double[] once = flatGrads(params);
        double second = ClipGrad.clipGradNorm(params, maxNorm, normType, false).item_double();

        assertClose(pNorm(once, normType), second, 1e-5, 0, "the second call returns the first's post-clip norm");
        assertAllClose(once, flatGrads(params), 1e-5, 0, "the second call leaves the gradients unchanged");
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void valueClipBoundsBothSides(int seed) {
        Random rnd = new Random(200 + seed);
        List<Tensor> params = randomParams(rnd, torch.ScalarType.Float);
        params.add(param(new double[] {100, -100, 0.25, -0.25}, new long[] {4}, torch.ScalarType.Float));
        double clipValue = 0.5;
        double[] before = flatGrads(params);

        ClipGrad.clipGradValue(params, clipValue);
        double[] after = flatGrads(params);

        for (int i = 0; i < before.length; i++) {
            double expected = Math.max(-clipValue, Math.min(clipValue, before[i]));
            assertEquals((float) expected, after[i], 0.0, "element " + i + " was " + before[i]);
        }
        assertEquals(-0.5, after[after.length - 3], 0.0, "a large negative gradient is clipped to -clipValue");
    }

    @Test
    void parameterListedTwiceIsCountedAndScaledOnce() {
        Tensor a = param(new double[] {3, 4}, new long[] {2}, torch.ScalarType.Float);
        Tensor b = param(new double[] {0, 12}, new long[] {2}, torch.ScalarType.Float);
        List<Tensor> once = cloneWithGrads(List.of(a, b));

        // the same Java object twice, a second Java wrapper of the same C++ tensor, and a vector's copy
        double twice = ClipGrad.clipGradNorm(List.of(a, b, a, new Tensor(a)), 1.0).item_double();
        double single = ClipGrad.clipGradNorm(once, 1.0).item_double();

        assertEquals(13.0, single, 1e-5);
        assertEquals(single, twice, 0.0, "norm with duplicates");
        assertAllClose(gradValues(once.get(0)), gradValues(a), 0, 0, "a scaled once");
        assertAllClose(gradValues(once.get(1)), gradValues(b), 0, 0, "b scaled once");
        Tensor c = param(new double[] {3, 4}, new long[] {2}, torch.ScalarType.Float);
        assertEquals(5.0, ClipGrad.clipGradNorm(new TensorVector(c, c, c), 10.0).item_double(), 1e-6,
                "TensorVector holding one parameter three times");
    }

    @Test
    void parametersSharingOneGradientTensorAreCountedOnce() {
        Tensor grad = Tensors.fromDoubles(new double[] {3, 4}, 2).to(torch.ScalarType.Float);
        Tensor p = param(null, new long[] {2}, torch.ScalarType.Float);
        Tensor q = param(null, new long[] {2}, torch.ScalarType.Float);
        p.mutable_grad().put(grad);
        q.mutable_grad().put(grad.view(2));

        assertEquals(5.0, ClipGrad.clipGradNorm(List.of(p, q), 1.0).item_double(), 1e-6);
        assertArrayEquals(new double[] {0.6, 0.8}, Tensors.toDoubles(grad), 1e-6, "scaled once");
    }

    @Test
    void equalValuesInDifferentTensorsAndViewsOfOneBufferAreAllCounted() {
        Tensor a = param(new double[] {3, 4}, new long[] {2}, torch.ScalarType.Float);
        Tensor b = param(new double[] {3, 4}, new long[] {2}, torch.ScalarType.Float);
        assertEquals(Math.sqrt(50), ClipGrad.getTotalNorm(List.of(a.grad(), b.grad()), 2, false).item_double(), 1e-5,
                "two tensors with equal values are two tensors");

        // views into one flat buffer: same start but other shapes, and disjoint slices, are all distinct
        Tensor flat = Tensors.fromDoubles(new double[] {1, 2, 3, 4, 5, 6}, 6).to(torch.ScalarType.Float);
        List<Tensor> views = List.of(flat.narrow(0, 0, 4).view(2, 2), flat.narrow(0, 0, 2), flat.narrow(0, 4, 2));
        assertEquals(Math.sqrt(1 + 4 + 9 + 16 + 1 + 4 + 25 + 36),
                ClipGrad.getTotalNorm(views, 2, false).item_double(), 1e-5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"Half", "BFloat16"})
    void halfPrecisionNormAccumulatesInFloat32(String typeName) {
        torch.ScalarType type = torch.ScalarType.valueOf(typeName);
        Random rnd = new Random(7);
        double[] values = new double[2000];
        for (int i = 0; i < values.length; i++) {
            values[i] = 300 * rnd.nextGaussian(); // sum of squares ~1.8e8 overflows float16 (max 65504)
        }
        for (double normType : NORM_TYPES) {
            Tensor low = param(values, new long[] {40, 50}, type);
            Tensor f32 = param(null, new long[] {40, 50}, torch.ScalarType.Float);
            f32.mutable_grad().put(low.grad().to(torch.ScalarType.Float)); // the same (rounded) values

            Tensor lowNorm = ClipGrad.clipGradNorm(List.of(low), 1000.0, normType, false);
            Tensor f32Norm = ClipGrad.clipGradNorm(List.of(f32), 1000.0, normType, false);

            assertEquals(torch.ScalarType.Float, lowNorm.scalar_type().intern(), "the norm of " + type + " gradients");
            assertTrue(Double.isFinite(lowNorm.item_double()), "finite in float32, p " + normType);
            assertClose(f32Norm.item_double(), lowNorm.item_double(), 1e-6, 0, type + " norm, p " + normType);
            assertEquals(type, low.grad().scalar_type().intern(), "gradients keep their dtype");
            assertAllClose(gradValues(f32), gradValues(low), type == torch.ScalarType.Half ? 2e-3 : 1e-2, 1e-6,
                    type + " clipped like float32, p " + normType);
        }
    }

    @Test
    void returnedNormHasTheGradientsDtypeAndIsZeroDim() {
        Tensor f = param(new double[] {3, 4}, new long[] {2}, torch.ScalarType.Float);
        Tensor d = param(new double[] {12}, new long[] {1}, torch.ScalarType.Double);
        Tensor norm = ClipGrad.clipGradNorm(List.of(f), 10.0);
        assertEquals(torch.ScalarType.Float, norm.scalar_type().intern());
        assertEquals(0, norm.dim());
        assertEquals("cpu", norm.device().str().getString());
        Tensor mixed = ClipGrad.clipGradNorm(List.of(f, d), 100.0);
        assertEquals(torch.ScalarType.Double, mixed.scalar_type().intern(),
                "float32 with float64 promotes as stack does");
        assertEquals(13.0, mixed.item_double(), 1e-6);
    }

    @Test
    void invalidArgumentsAreRejectedWithActionableMessages() {
        List<Tensor> params = List.of(param(new double[] {1}, new long[] {1}, torch.ScalarType.Float));
        assertMessage(() -> ClipGrad.clipGradNorm(params, -1.0), "maxNorm", "-1.0", ">= 0");
        assertMessage(() -> ClipGrad.clipGradNorm(params, Double.NaN), "maxNorm", "NaN");
        assertMessage(() -> ClipGrad.clipGradNorm(params, 1.0, 0.0, false), "normType", "0.0", "> 0",
                "number of gradients");
        assertMessage(() -> ClipGrad.clipGradNorm(params, 1.0, -2.0, false), "normType", "-2.0",
                "POSITIVE_INFINITY");
        assertMessage(() -> ClipGrad.getTotalNorm(List.of(), Double.NaN, false), "normType", "NaN");
        assertMessage(() -> ClipGrad.clipGradValue(params, -0.5), "clipValue", "-0.5", ">= 0");
        assertMessage(() -> ClipGrad.clipGradValue(params, Double.NaN), "clipValue", "NaN");
        assertMessage(() -> ClipGrad.clipGradsWithNorm(params, -3.0, torch.ones(new long[0])), "maxNorm", "-3.0");
        assertMessage(() -> ClipGrad.clipGradsWithNorm(params, 1.0, torch.ones(2)), "totalNorm", "[2]");
        assertMessage(() -> ClipGrad.clipGradsWithNorm(params, 1.0, new Tensor()), "totalNorm", "undefined");
        assertEquals(1.0, gradValues(params.get(0))[0], 0.0, "nothing changed");
    }

    @Test
    void errorIfNonfiniteThrowsNamingTheNormAndLeavesGradientsAlone() {
        Tensor p = param(new double[] {1, Double.NaN}, new long[] {2}, torch.ScalarType.Float);
        Tensor q = param(new double[] {5, -5}, new long[] {2}, torch.ScalarType.Float);
        NonFiniteNormException e = assertThrows(NonFiniteNormException.class,
                () -> ClipGrad.clipGradNorm(List.of(q, p), 1.0, 2.0, true));
        assertTrue(e.getMessage().startsWith("The total norm of order 2.0 for gradients from `parameters` is "
                + "non-finite (nan), so it cannot be clipped."), e.getMessage());
        assertTrue(e.getMessage().contains("errorIfNonfinite"), e.getMessage());
        assertTrue(Double.isNaN(e.norm()));
        assertEquals(2.0, e.normType());
        assertArrayEquals(new double[] {5, -5}, gradValues(q), 0.0, "unchanged");

        Tensor r = param(new double[] {Double.NEGATIVE_INFINITY}, new long[] {1}, torch.ScalarType.Double);
        NonFiniteNormException inf = assertThrows(NonFiniteNormException.class,
                () -> ClipGrad.getTotalNorm(List.of(r.grad()), INF, true));
        assertTrue(inf.getMessage().contains("order inf") && inf.getMessage().contains("(inf)"), inf.getMessage());
        assertEquals(INF, inf.norm());
    }

    @Test
    void withoutGradientsTheNormIsZeroAndNothingChanges() {
        List<Tensor> params = List.of(param(null, new long[] {3}, torch.ScalarType.Double),
                param(null, new long[] {}, torch.ScalarType.Float));
        for (List<Tensor> list : List.of(params, List.<Tensor>of())) {
            Tensor norm = ClipGrad.clipGradNorm(list, 1.0, 2.0, true);
            assertEquals(0.0, norm.item_double(), 0.0);
            assertEquals(0, norm.dim());
            assertEquals(torch.ScalarType.Float, norm.scalar_type().intern());
            assertEquals(0.0, ClipGrad.getTotalNorm(list, INF, true).item_double(), 0.0);
            ClipGrad.clipGradValue(list, 0.1);
            ClipGrad.clipGradsWithNorm(list, 1.0, torch.ones(new long[0]));
        }
        assertEquals(0.0, ClipGrad.clipGradNorm(new TensorVector(), 1.0).item_double(), 0.0);
        for (Tensor p : params) {
            assertFalse(p.grad().defined(), "no gradient was created");
        }
    }

    @Test
    void gradientsThatRequireGradAreScaledUnderNoGrad() {
        // a create_graph backward leaves gradients that require grad; an in-place mul_ on them outside
        // no-grad mode is an autograd error
        Tensor p = param(null, new long[] {2}, torch.ScalarType.Float);
        Tensor grad = Tensors.fromDoubles(new double[] {3, 4}, 2).to(torch.ScalarType.Float);
        p.mutable_grad().put(grad.requires_grad_(true));
        assertEquals(5.0, ClipGrad.clipGradNorm(List.of(p), 1.0).item_double(), 1e-6);
        assertArrayEquals(new double[] {0.6, 0.8}, gradValues(p), 1e-6, "scaled");
        ClipGrad.clipGradValue(List.of(p), 0.7);
        assertArrayEquals(new double[] {0.6, 0.7}, gradValues(p), 1e-6, "clamped");
    }

    @Test
    void temporariesAreFreedBeforeReturning() {
        List<Tensor> params = randomParams(new Random(3), torch.ScalarType.Float);
        int calls = 50;
        long before = Pointer.totalCount();
        for (int i = 0; i < calls; i++) {
            ClipGrad.clipGradNorm(params, 0.5, 3.0, true);
            ClipGrad.clipGradValue(params, 0.1);
        }
        long kept = Pointer.totalCount() - before;
        assertTrue(kept <= calls, "native objects kept alive after " + calls + " calls: " + kept
                + " (only the returned norms should be)");
    }

    @Test
    void returnedNormOutlivesTheCallWithoutAScope() {
        scope.close(); // this test runs without any PointerScope open
        Tensor p = param(new double[] {3, 4}, new long[] {2}, torch.ScalarType.Float);
        Tensor norm = ClipGrad.clipGradNorm(List.of(p), 1.0);
        System.gc();
        assertEquals(5.0, norm.item_double(), 1e-6);
        scope = new PointerScope();
    }

    private static void assertMessage(Runnable call, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message lacks '" + part + "': " + e.getMessage());
        }
    }

    private static void assertArrayEquals(double[] expected, double[] actual, double tolerance, String what) {
        assertAllClose(expected, actual, 0, tolerance, what);
    }

    private static List<Tensor> randomParams(Random rnd, torch.ScalarType dtype) {
        long[][] shapes = {{}, {5}, {3, 4}, {2, 3, 2}, {17}};
        List<Tensor> params = new ArrayList<>();
        for (long[] shape : shapes) {
            int n = (int) Arrays.stream(shape).reduce(1, (x, y) -> x * y);
            double scale = Math.pow(10, rnd.nextInt(5) - 2);
            double[] g = new double[n];
            for (int i = 0; i < n; i++) {
                g[i] = rnd.nextGaussian() * scale;
            }
            // every list keeps its first gradient; others may be missing
            params.add(param(!params.isEmpty() && rnd.nextInt(6) == 0 ? null : g, shape, dtype));
        }
        return params;
    }

    private static double[] flatGrads(List<Tensor> params) {
        return params.stream().map(ClipGradFixtures::gradValues).filter(g -> g != null)
                .flatMapToDouble(Arrays::stream).toArray();
    }

    private static double pNorm(double[] v, double p) {
        if (p == INF) {
            return Arrays.stream(v).map(Math::abs).max().orElse(0);
        }
        return Math.pow(Arrays.stream(v).map(x -> Math.pow(Math.abs(x), p)).sum(), 1 / p);
    }

    private static double cosine(double[] a, double[] b) {
        double dot = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
        }
        return dot / (pNorm(a, 2) * pNorm(b, 2));
    }
}
