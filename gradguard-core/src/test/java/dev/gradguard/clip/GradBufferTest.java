package dev.gradguard.clip;

import static dev.gradguard.clip.ClipGradFixtures.assertAllClose;
import static dev.gradguard.clip.ClipGradFixtures.assertClose;
import static dev.gradguard.clip.ClipGradFixtures.gradValues;
import static dev.gradguard.clip.ClipGradFixtures.param;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Tensors;
import dev.gradguard.model.Parameters;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Binding gradients into flat buffers: backward, optimizers, zeroing, re-binding, and clipping edge cases. */
@ExtendWith(PointerScopePerTest.class)
class GradBufferTest {
    private static final float[] INPUT = {0.5f, -1f, 2f, 0.25f, -0.75f, 1.5f, 1f, -2f};

    /** 4 -> 3 -> 2, with a fixed initialisation so that two nets start equal. */
    static final class Net extends Module {
        final LinearImpl fc1 = register_module("fc1", new LinearImpl(4, 3));
        final LinearImpl fc2 = register_module("fc2", new LinearImpl(3, 2));

        Net() {
            try (NoGradGuard noGrad = new NoGradGuard()) {
                double v = 0.1;
                for (Tensor p : parameters().get()) {
                    p.copy_(torch.arange(new Scalar((double) p.numel())).reshape(p.sizes()).mul_(new Scalar(v)).sin_());
                    v += 0.37;
                }
            }
        }

        Tensor loss() {
            Tensor x = Tensors.fromFloats(INPUT, 2, 4);
            return fc2.forward(torch.tanh(fc1.forward(x))).pow(new Scalar(2)).sum();
        }
    }

    @Test
    void backwardAccumulatesIntoTheBuffer() {
        Net net = new Net();
        Net twin = new Net();
        GradBuffer buffer = GradBuffer.bind(Parameters.of(net));
        assertEquals(4, buffer.parameterCount());
        assertEquals(4 * 3 + 3 + 3 * 2 + 2, buffer.numel());

        net.loss().backward();
        twin.loss().backward();
        Tensor flat = buffer.flatTensors().get(0);
        long start = flat.data_ptr().address();
        long end = start + flat.numel() * flat.element_size();
        for (Tensor p : net.parameters().get()) {
            long address = p.grad().data_ptr().address();
            assertTrue(p.grad().is_view() && address >= start && address < end, "gradient inside the buffer");
        }
        assertGradsEqual(twin, net, 1.0, "one backward");

        net.loss().backward();
        assertGradsEqual(twin, net, 2.0, "a second backward doubles");
        assertEquals(0, buffer.rebinds());
    }

    @Test
    void mixedDtypesGetOneBufferEach() {
        Tensor a = param(new double[] {3, 4}, new long[] {2}, torch.ScalarType.Float).requires_grad_(true);
        Tensor b = param(new double[] {12}, new long[] {1}, torch.ScalarType.Double).requires_grad_(true);
        Tensor c = param(new double[] {0, 0, 0}, new long[] {3}, torch.ScalarType.Float).requires_grad_(true);
        GradBuffer buffer = GradBuffer.bind(List.of(a, b, c));

        List<Tensor> flats = buffer.flatTensors();
        assertEquals(2, flats.size());
        assertEquals(torch.ScalarType.Float, flats.get(0).scalar_type().intern());
        assertEquals(torch.ScalarType.Double, flats.get(1).scalar_type().intern());
        assertArrayEquals(new double[] {3, 4, 0, 0, 0}, Tensors.toDoubles(flats.get(0)));
        assertArrayEquals(new double[] {12}, Tensors.toDoubles(flats.get(1)));
        Tensor norm = buffer.totalNorm(2);
        assertEquals(torch.ScalarType.Double, norm.scalar_type().intern(), "float32 and float64 promote");
        assertEquals(13.0, norm.item_double(), 1e-12);
    }

    @Test
    void skipsParametersThatDoNotRequireGradAndBindsRepeatsOnce() {
        Tensor frozen = param(new double[] {100}, new long[] {1}, torch.ScalarType.Float);
        Tensor p = param(new double[] {3, 4}, new long[] {2}, torch.ScalarType.Float).requires_grad_(true);
        Tensor sameParameterAgain = new Tensor(p);
        GradBuffer buffer = GradBuffer.bind(List.of(frozen, p, p, sameParameterAgain));

        assertEquals(1, buffer.parameterCount());
        assertEquals(5.0, buffer.totalNorm(2).item_double(), 1e-6);
        assertTrue(!frozen.grad().is_view(), "the frozen parameter keeps its own gradient");
    }

    @Test
    void scalarsAndEmptyParametersBind() {
        Tensor scalar = torch.zeros(new long[0]).requires_grad_(true);
        Tensor empty = torch.zeros(2, 0, 3).requires_grad_(true);
        Tensor vector = torch.zeros(2).requires_grad_(true);
        GradBuffer buffer = GradBuffer.bind(List.of(scalar, empty, vector));
        assertEquals(3, buffer.numel());

        scalar.mul(new Scalar(3)).add(vector.mul(new Scalar(4)).sum()).add(empty.sum()).backward();
        assertArrayEquals(new double[] {3}, gradValues(scalar));
        assertArrayEquals(new long[] {2, 0, 3}, empty.grad().sizes().vec().get());
        for (double p : new double[] {1, 2}) {
            double expected = ClipGrad.getTotalNorm(List.of(scalar.grad(), empty.grad(), vector.grad()), p, false)
                    .item_double();
            assertEquals(expected, buffer.totalNorm(p).item_double(), 1e-6, "p " + p);
        }
        // as in PyTorch and libtorch's C++ clip_grad_norm_, the inf norm of an empty gradient is an error
        assertThrows(RuntimeException.class, () -> torch.clip_grad_norm_(new TensorVector(scalar, empty, vector),
                1.0, Double.POSITIVE_INFINITY, false));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> buffer.totalNorm(Double.POSITIVE_INFINITY));
        assertEquals("normType inf needs every gradient to have elements, but parameter 1 has shape [2, 0, 3] "
                + "(PyTorch raises too); use a finite normType or bind without that parameter", e.getMessage());
        assertEquals(Math.sqrt(41), buffer.clipNorm(1.0).item_double(), 1e-5);
        assertClose(1.0, buffer.totalNorm(2).item_double(), 1e-5, 0, "clipped to maxNorm");
    }

    @Test
    void nothingBoundGivesAZeroNorm() {
        GradBuffer buffer = GradBuffer.bind(List.of(torch.zeros(3)));
        Tensor norm = buffer.clipNorm(1.0);
        assertEquals(0, buffer.parameterCount());
        assertEquals(0, norm.dim());
        assertEquals(torch.ScalarType.Float, norm.scalar_type().intern());
        assertEquals(0.0, norm.item_double());
        assertTrue(buffer.flatTensors().isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"sgd", "adam"})
    void optimizersStepWithBoundGradients(String kind) {
        Net net = new Net();
        Net twin = new Net();
        GradBuffer buffer = GradBuffer.bind(net.parameters());
        Optimizer opt = optimizer(kind, net);
        Optimizer twinOpt = optimizer(kind, twin);
        for (int step = 0; step < 5; step++) {
            net.loss().backward();
            twin.loss().backward();
            double norm = buffer.clipNorm(0.5).item_double();
            double twinNorm = ClipGrad.clipGradNorm(twin.parameters(), 0.5).item_double();
            assertClose(twinNorm, norm, 1e-6, 0, kind + " step " + step + ": norm");
            opt.step();
            twinOpt.step();
            buffer.zero();
            twinOpt.zero_grad();
        }
        for (int i = 0; i < 4; i++) {
            assertAllClose(Tensors.toDoubles(twin.parameters().get(i)), Tensors.toDoubles(net.parameters().get(i)),
                    1e-6, 1e-7, kind + ": parameter " + i + " after 5 steps");
        }
        assertEquals(0, buffer.rebinds());
    }

    @Test
    void optimizerZeroGradThrowsOnGradientViews() {
        Net net = new Net();
        GradBuffer.bind(net.parameters());
        Optimizer opt = optimizer("sgd", net);
        net.loss().backward();
        RuntimeException e = assertThrows(RuntimeException.class, opt::zero_grad);
        assertTrue(e.getMessage().contains("Can't detach views in-place"), e.getMessage());
    }

    @Test
    void moduleZeroGradFalseKeepsTheViews() {
        Net net = new Net();
        GradBuffer buffer = GradBuffer.bind(net.parameters());
        net.loss().backward();
        long[] before = gradAddresses(net);

        net.zero_grad(false);
        assertArrayEquals(before, gradAddresses(net));
        assertEquals(0.0, buffer.totalNorm(2).item_double());
        assertEquals(0, buffer.rebinds());
    }

    @Test
    void zeroZeroesTheBufferAndKeepsTheViews() {
        Net net = new Net();
        GradBuffer buffer = GradBuffer.bind(net.parameters());
        net.loss().backward();
        long[] before = gradAddresses(net);

        buffer.zero();
        assertArrayEquals(before, gradAddresses(net));
        assertEquals(0.0, buffer.totalNorm(Double.POSITIVE_INFINITY).item_double());
        net.loss().backward();
        assertArrayEquals(before, gradAddresses(net));
    }

    @Test
    void moduleZeroGradTrueThenBackwardIsDetectedAndRebound() {
        Net net = new Net();
        Net twin = new Net();
        GradBuffer buffer = GradBuffer.bind(net.parameters());
        net.loss().backward();
        long[] bound = gradAddresses(net);

        net.zero_grad(true);
        net.loss().backward();
        twin.loss().backward();
        double norm = buffer.clipNorm(Double.POSITIVE_INFINITY).item_double();

        assertEquals(4, buffer.rebinds());
        assertArrayEquals(bound, gradAddresses(net), "bound into the same slots again");
        double expected = ClipGrad.getTotalNorm(Gradients.of(Parameters.of(twin)), 2, false).item_double();
        assertClose(expected, norm, 1e-6, 0, "norm of the new gradients");
        assertGradsEqual(twin, net, 1.0, "values copied into the buffer");
        net.loss().backward();
        assertGradsEqual(twin, net, 2.0, "the next backward accumulates into the buffer");
    }

    /**
     * Dropping a gradient frees the tensor that was bound, and the allocator readily hands its address to
     * the next tensor: a new gradient at that address must still be detected.
     */
    @Test
    void aNewGradientAtAFreedGradientsAddressIsDetected() {
        Tensor p = param(new double[] {-7, 7}, new long[] {2}, torch.ScalarType.Float).requires_grad_(true);
        GradBuffer buffer = GradBuffer.bind(List.of(p));
        for (int i = 1; i <= 20; i++) {
            try (PointerScope round = new PointerScope()) {
                p.mutable_grad().put(new Tensor());
                p.mutable_grad().put(torch.full(new long[] {2}, new Scalar(i)));
                assertEquals(i * Math.sqrt(2), buffer.totalNorm(2).item_double(), 1e-5, "round " + i);
                assertEquals(i, buffer.rebinds(), "round " + i);
            }
        }
    }

    @Test
    void everyRepeatedDropIsDetected() {
        Net net = new Net();
        Net twin = new Net();
        twin.loss().backward();
        GradBuffer buffer = GradBuffer.bind(net.parameters());
        long[] bound = gradAddresses(net);
        for (int i = 1; i <= 20; i++) {
            net.zero_grad(i % 2 == 0); // alternately dropped, and zeroed through a detached copy
            net.loss().backward();
            buffer.totalNorm(2);
            assertEquals(4L * (i / 2), buffer.rebinds(), "round " + i);
            assertArrayEquals(bound, gradAddresses(net), "round " + i);
            assertGradsEqual(twin, net, 1.0, "round " + i);
        }
    }

    @Test
    void moduleZeroGradTrueWithoutBackwardRebindsAsZeros() {
        Net net = new Net();
        GradBuffer buffer = GradBuffer.bind(net.parameters());
        net.loss().backward();
        net.zero_grad(true);

        assertEquals(0.0, buffer.totalNorm(2).item_double());
        assertEquals(4, buffer.rebinds());
        for (Tensor p : net.parameters().get()) {
            assertTrue(p.grad().defined() && p.grad().is_view());
        }
    }

    @Test
    void strictModeNamesTheParameterWhoseGradientWasDropped() {
        Net net = new Net();
        GradBuffer buffer = GradBuffer.bind(Parameters.of(net), GradBuffer.Mode.STRICT);
        net.loss().backward();
        net.zero_grad(true);
        net.loss().backward();

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> buffer.clipNorm(1.0));
        String message = e.getMessage();
        assertTrue(message.contains("fc1.weight") && message.contains("zero_grad(false)"), message);
        assertEquals(0, buffer.rebinds());
    }

    @Test
    void anAssignedGradientIsCopiedIn() {
        Tensor p = param(new double[] {1, 1}, new long[] {2}, torch.ScalarType.Float).requires_grad_(true);
        GradBuffer buffer = GradBuffer.bind(List.of(p));
        long bound = p.grad().data_ptr().address();

        p.mutable_grad().put(Tensors.fromFloats(new float[] {3, 4}, 2));
        assertEquals(5.0, buffer.totalNorm(2).item_double(), 1e-6);
        assertEquals(1, buffer.rebinds());
        assertEquals(bound, p.grad().data_ptr().address());
        assertArrayEquals(new double[] {3, 4}, Tensors.toDoubles(buffer.flatTensors().get(0)));
    }

    @Test
    void clipValueClampsBothSides() {
        Tensor p = param(new double[] {100, -100, 0.25, -0.25}, new long[] {4}, torch.ScalarType.Float)
                .requires_grad_(true);
        GradBuffer buffer = GradBuffer.bind(List.of(p));
        buffer.clipValue(0.5);
        assertArrayEquals(new double[] {0.5, -0.5, 0.25, -0.25}, gradValues(p));
    }

    /**
     * A NaN norm makes every gradient NaN (as in PyTorch); the padding behind the last row must stay zero,
     * or every later norm would be NaN too.
     */
    @Test
    void paddingNeverLeaksIntoLaterNorms() {
        long n = GradBuffer.ROW_LENGTH + 1808; // two rows, 6384 padding elements
        Tensor p = torch.zeros(n).requires_grad_(true);
        GradBuffer buffer = GradBuffer.bind(List.of(p));
        p.grad().fill_(new Scalar(1)).narrow(0, 0, 1).fill_(new Scalar(Double.NaN));

        assertTrue(Double.isNaN(buffer.clipNorm(1.0).item_double()));
        assertTrue(Double.isNaN(buffer.totalNorm(2).item_double()), "every gradient NaN");
        p.grad().fill_(new Scalar(1)); // as Module.zero_grad(false) would: through the view, not the buffer
        assertEquals(Math.sqrt(n), buffer.totalNorm(2).item_double(), 1e-3);
        assertEquals(n, buffer.totalNorm(1).item_double(), 1e-2);
    }

    /** Buffers up to SERIAL_LIMIT elements are scaled, clamped and zeroed chunk by chunk: every chunk counts. */
    @ParameterizedTest
    @ValueSource(longs = {100_003, GradBuffer.SERIAL_LIMIT + 5})
    void chunkedAndWholeBuffersTouchEveryElement(long n) {
        torch.manual_seed(3);
        Tensor big = torch.zeros(n).requires_grad_(true);
        Tensor small = torch.zeros(5).requires_grad_(true);
        big.mutable_grad().put(torch.randn(n));
        small.mutable_grad().put(torch.randn(5));
        List<Tensor> reference = ClipGradFixtures.cloneWithGrads(List.of(big, small));
        GradBuffer buffer = GradBuffer.bind(List.of(big, small));

        double expected = ClipGrad.clipGradNorm(reference, 1.0).item_double();
        assertClose(expected, buffer.clipNorm(1.0).item_double(), 1e-5, 0, "norm");
        assertAllClose(gradValues(reference.get(0)), gradValues(big), 1e-5, 1e-12, "scaled");
        assertAllClose(gradValues(reference.get(1)), gradValues(small), 1e-5, 1e-12, "scaled");

        ClipGrad.clipGradValue(reference, 1e-3);
        buffer.clipValue(1e-3);
        assertAllClose(gradValues(reference.get(0)), gradValues(big), 1e-5, 1e-12, "clamped");

        buffer.zero();
        assertEquals(0.0, buffer.totalNorm(1).item_double());
    }

    @Test
    void buffersOutliveThePointerScopeOpenAtBind() {
        Tensor p = param(new double[] {3, 4}, new long[] {2}, torch.ScalarType.Float).requires_grad_(true);
        GradBuffer buffer;
        try (PointerScope bindScope = new PointerScope()) {
            buffer = GradBuffer.bind(List.of(p));
        }
        System.gc();
        assertEquals(5.0, buffer.clipNorm(10).item_double(), 1e-6);
        assertArrayEquals(new double[] {3, 4}, Tensors.toDoubles(buffer.flatTensors().get(0)));
        assertEquals(0, buffer.rebinds());
    }

    @Test
    void rejectsInvalidArguments() {
        GradBuffer buffer = GradBuffer.bind(List.of(torch.zeros(2).requires_grad_(true)));
        assertThrows(IllegalArgumentException.class, () -> buffer.clipNorm(-1));
        assertThrows(IllegalArgumentException.class, () -> buffer.clipNorm(1, 0));
        assertThrows(IllegalArgumentException.class, () -> buffer.totalNorm(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> buffer.clipValue(-0.5));
        assertThrows(IllegalArgumentException.class, () -> buffer.clipGradsWithNorm(1, torch.ones(2)));
    }

    private static Optimizer optimizer(String kind, Net net) {
        return kind.equals("sgd")
                ? new SGD(net.parameters(), momentum(new SGDOptions(0.1)))
                : new Adam(net.parameters(), new AdamOptions(0.01));
    }

    private static SGDOptions momentum(SGDOptions options) {
        options.momentum().put(0.9);
        return options;
    }

    private static long[] gradAddresses(Net net) {
        List<Long> addresses = new ArrayList<>();
        for (Tensor p : net.parameters().get()) {
            addresses.add(p.grad().data_ptr().address());
        }
        return addresses.stream().mapToLong(Long::longValue).toArray();
    }

    private static void assertGradsEqual(Net expected, Net actual, double factor, String what) {
        for (int i = 0; i < 4; i++) {
            double[] e = gradValues(expected.parameters().get(i));
            for (int j = 0; j < e.length; j++) {
                e[j] *= factor;
            }
            assertAllClose(e, gradValues(actual.parameters().get(i)), 1e-6, 1e-7, what + ": parameter " + i);
        }
    }
}
