package dev.gradguard.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.LongArrayRefOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ClipGrad takes native shortcuts: runs of equal-size gradients that lie one after another in memory, or are small,
 * have their 2-norms taken as the rows of one matrix, a view or a copy ({@link Foreach.Group#norms}), and the
 * gradients are scaled in two calls, the last bytes first ({@link Foreach.Group#mul_}). The norms, the total norm
 * and the clipped gradients must still be, bit for bit, what libtorch's own per-tensor functions give:
 * {@code linalg_vector_norm} of each gradient, {@code stack}, the norm of that, PyTorch's coefficient
 * {@code clamp_max(reciprocal(norm + 1e-6) * maxNorm, 1)} and {@code mul_} of each gradient. Sizes cover libtorch's
 * vector widths (8 and 16 lanes) with and without a remainder, one element, the largest copied row, and rows longer
 * than its parallel grain (32768 elements), so that threads split the rows; each case runs at 1 and at 2 threads
 * (where small work goes in chunks kept on the calling thread), in float32 and float64.
 */
@SuppressWarnings("try") // the scope only frees each case's tensors
@ExtendWith(PointerScopePerTest.class)
class ClipGradPerTensorValuesTest {
    private static final long[] SIZES = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 255, 256, 257, 1000, 2048, 4096, 4099,
        32768, 32769, 100_003};
    private static final Scalar TWO = new Scalar(2.0);
    private int threadsBefore;

    @BeforeEach
    void setUp() {
        threadsBefore = Torch.threads();
        torch.manual_seed(11);
    }

    @AfterEach
    void tearDown() {
        Torch.setThreads(threadsBefore);
    }

    @ParameterizedTest(name = "{0} thread(s)")
    @ValueSource(ints = {1, 2})
    void rowsOfEveryShapeGiveEachTensorsOwnNorm(int threads) {
        Torch.setThreads(threads);
        for (torch.ScalarType dtype : new torch.ScalarType[] {torch.ScalarType.Float, torch.ScalarType.Double}) {
            for (long size : SIZES) {
                int count = size > 10_000 ? Foreach.MIN_ROWS + 1 : 3 * Foreach.MIN_ROWS + 1;
                long[] sizes = new long[count];
                Arrays.fill(sizes, size);
                String what = dtype + ", " + count + " x " + size;
                assertEquals(count, assertMatchesLibtorch(sizes, dtype, what)[0], what + ": one run of rows");
                long bytes = size * (dtype == torch.ScalarType.Float ? 4 : 8);
                int[] separate = assertMatchesLibtorch(sizes, dtype, false, what + ", separate");
                assertEquals(bytes <= Foreach.COPIED_ROW_BYTES ? count : 1, separate[0],
                        what + ", separate: copied as rows only when small");
            }
        }
    }

    @ParameterizedTest(name = "{0} thread(s)")
    @ValueSource(ints = {1, 2})
    void runsAmongOtherSizesKeepTheParameterOrder(int threads) {
        Torch.setThreads(threads);
        List<Long> sizes = new ArrayList<>();
        addRun(sizes, Foreach.MIN_ROWS, 33); // a run first
        sizes.add(5L);
        sizes.add(70_000L);
        addRun(sizes, Foreach.MIN_ROWS - 1, 12); // one short of a run: tensor by tensor
        addRun(sizes, Foreach.MIN_ROWS + 5, 40_000); // rows longer than the grain
        sizes.add(1L);
        addRun(sizes, 2 * Foreach.MIN_ROWS, 1); // single elements
        addRun(sizes, Foreach.MIN_ROWS, 17); // a run last
        long[] all = sizes.stream().mapToLong(Long::longValue).toArray();
        int[] runEnds = assertMatchesLibtorch(all, torch.ScalarType.Float, "mixed float32");
        assertEquals(Foreach.MIN_ROWS, runEnds[0], "the first run");
        assertEquals(all.length, runEnds[all.length - Foreach.MIN_ROWS], "the last run");
        assertMatchesLibtorch(all, torch.ScalarType.Double, "mixed float64");
        int[] separate = assertMatchesLibtorch(all, torch.ScalarType.Float, false, "mixed float32, separate");
        assertEquals(Foreach.MIN_ROWS, separate[0], "the first run, copied");
    }

    @ParameterizedTest(name = "{0} thread(s)")
    @ValueSource(ints = {1, 2})
    void separateGradientsBeyondTheCachedTailAreScaledAsLibtorchScalesThem(int threads) {
        Torch.setThreads(threads);
        long[] sizes = new long[40];
        Arrays.fill(sizes, 100_003); // 16 MB of float32: two calls, the last 8 MB first
        sizes[39] = 3_000_000; // a last tensor larger than the tail on its own
        assertMatchesLibtorch(sizes, torch.ScalarType.Float, false, "separate float32");
        assertMatchesLibtorch(new long[] {2_500_000, 7, 1}, torch.ScalarType.Double, false, "separate float64");
    }

    private static void addRun(List<Long> sizes, int count, long size) {
        for (int i = 0; i < count; i++) {
            sizes.add(size);
        }
    }

    /** {@link #assertMatchesLibtorch(long[], torch.ScalarType, boolean, String)} for views of one buffer. */
    private static int[] assertMatchesLibtorch(long[] sizes, torch.ScalarType dtype, String what) {
        return assertMatchesLibtorch(sizes, dtype, true, what);
    }

    /**
     * Parameters whose gradients have {@code sizes} elements: views of one buffer, in order and without gaps, or
     * separate tensors; checks ClipGrad's per-tensor norms, total norm and clipped gradients against libtorch's
     * functions.
     *
     * @return where each run of rows that the gradients form ends ({@link Foreach.Group#runEnds})
     */
    private static int[] assertMatchesLibtorch(long[] sizes, torch.ScalarType dtype, boolean views, String what) {
        try (PointerScope perCase = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            long total = 0;
            for (long s : sizes) {
                total += s;
            }
            Tensor buffer = torch.empty(new long[] {total}).to(dtype);
            buffer.normal_(0, 1, new GeneratorOptional());
            List<Tensor> params = new ArrayList<>();
            List<Tensor> grads = new ArrayList<>();
            long offset = 0;
            for (long s : sizes) {
                Tensor grad = views ? buffer.narrow(0, offset, s) : buffer.narrow(0, offset, s).clone();
                Tensor p = torch.zeros(s).to(dtype);
                p.mutable_grad().put(grad);
                params.add(p);
                grads.add(grad);
                offset += s;
            }

            TensorVector perTensor = new TensorVector();
            for (Tensor g : grads) {
                perTensor.push_back(torch.linalg_vector_norm(g, TWO, new LongArrayRefOptional(), false,
                        new ScalarTypeOptional()));
            }
            Tensor expectedNorms = torch.stack(perTensor);
            Foreach.Group group = GradientGroups.ofGradients(grads).get(0);
            Tensor actualNorms = group.norms(2.0, TWO, null);
            assertArrayEquals(Tensors.toDoubles(expectedNorms), Tensors.toDoubles(actualNorms),
                    what + ": per-tensor norms, bit for bit");

            Tensor expectedTotal = torch.linalg_vector_norm(expectedNorms, TWO, new LongArrayRefOptional(), false,
                    new ScalarTypeOptional());
            double maxNorm = expectedTotal.item_double() / 3;
            Tensor coef = expectedTotal.add(new Scalar(1e-6)).reciprocal().mul(new Scalar(maxNorm))
                    .clamp_max(new Scalar(1.0));
            List<double[]> expectedGrads = new ArrayList<>();
            for (Tensor g : grads) {
                expectedGrads.add(Tensors.toDoubles(g.mul(coef)));
            }

            double actualTotal = ClipGrad.clipGradNorm(params, maxNorm).item_double();
            assertEquals(expectedTotal.item_double(), actualTotal, 0.0, what + ": total norm, bit for bit");
            for (int i = 0; i < grads.size(); i++) {
                assertArrayEquals(expectedGrads.get(i), Tensors.toDoubles(params.get(i).grad()),
                        what + ": gradient " + i + " clipped, bit for bit");
            }
            return group.runEnds();
        }
    }
}
