package dev.gradguard.clip;

import static dev.gradguard.clip.ClipGradFixtures.assertAllClose;
import static dev.gradguard.clip.ClipGradFixtures.assertClose;
import static dev.gradguard.clip.ClipGradFixtures.cloneWithGrads;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gradguard.engine.Tensors;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gradients that are views of one buffer (as {@link GradBuffer} binds them) are clipped exactly as the same
 * gradients held as separate tensors: ClipGrad scales views that tile one contiguous range in a few large pieces,
 * and falls back to tensor by tensor whenever they do not (a gap, another order, a strided view, another buffer).
 * Each case checks the norm and every gradient bit for bit against ClipGrad on separate copies, against libtorch's
 * own {@code clip_grad_norm_} on a third copy (its coefficient is a division, hence a float tolerance), and that
 * the buffer's memory outside the views is untouched.
 */
@ExtendWith(PointerScopePerTest.class)
class ClipGradBufferViewsTest {
    /** Exact in every dtype used here; random gradients never equal it. */
    private static final double SENTINEL = 1234.0;

    @BeforeEach
    void seed() {
        torch.manual_seed(7);
    }

    @Test
    void viewsThatTileTheBufferAreScaledAsSeparateTensors() {
        Tensor buffer = buffer(1000, torch.ScalarType.Float);
        assertClipsAsSeparate(views(buffer, 0, 100, 200, 450, 1000), buffer);
    }

    @Test
    void aLargeTiledRangeIsScaledAsSeparateTensors() {
        Tensor buffer = buffer(2_500_000, torch.ScalarType.Float);
        assertClipsAsSeparate(views(buffer, 0, 3, 1_200_000, 1_200_001, 2_500_000), buffer);
    }

    @Test
    void aGapBetweenViewsIsLeftAlone() {
        Tensor buffer = buffer(100, torch.ScalarType.Float);
        List<Tensor> params = new ArrayList<>(views(buffer, 0, 10));
        params.addAll(views(buffer, 12, 40, 100));
        assertClipsAsSeparate(params, buffer);
    }

    @Test
    void viewsListedOutOfAddressOrderAreScaledAsSeparateTensors() {
        Tensor buffer = buffer(100, torch.ScalarType.Float);
        List<Tensor> params = new ArrayList<>(views(buffer, 50, 100));
        params.addAll(views(buffer, 0, 50));
        assertClipsAsSeparate(params, buffer);
    }

    @Test
    void aStridedViewIsScaledAsASeparateTensor() {
        Tensor buffer = buffer(60, torch.ScalarType.Float);
        List<Tensor> params = new ArrayList<>(views(buffer, 0, 20));
        Tensor transposed = paramWithGrad(buffer.narrow(0, 20, 20).view(4, 5).t());
        params.add(transposed);
        params.addAll(views(buffer, 40, 60));
        assertClipsAsSeparate(params, buffer);
    }

    @Test
    void aReplacedOrMissingGradientAmongViewsIsHandled() {
        Tensor buffer = buffer(90, torch.ScalarType.Float);
        List<Tensor> params = views(buffer, 0, 30, 60, 90);
        double[] stale = Tensors.toDoubles(buffer.narrow(0, 30, 30));
        params.get(1).mutable_grad().put(torch.randn(30));
        params.add(1, torch.zeros(5)); // no gradient at all
        assertClipsAsSeparate(params, buffer);
        assertArrayEquals(stale, Tensors.toDoubles(buffer.narrow(0, 30, 30)), "the view that is no gradient any more");
    }

    @Test
    void aViewListedTwiceIsScaledOnceAndTheRestStillTile() {
        Tensor buffer = buffer(100, torch.ScalarType.Float);
        List<Tensor> once = views(buffer, 0, 40, 100);
        List<Tensor> twice = new ArrayList<>(once);
        twice.add(once.get(0));
        List<Tensor> separate = cloneWithGrads(once);
        double ours = ClipGrad.clipGradNorm(twice, 1.0).item_double();
        assertEquals(ClipGrad.clipGradNorm(separate, 1.0).item_double(), ours, 0.0, "norm, bit for bit");
        for (int i = 0; i < once.size(); i++) {
            assertArrayEquals(Tensors.toDoubles(separate.get(i).grad()), Tensors.toDoubles(once.get(i).grad()),
                    "gradient " + i + ", bit for bit");
        }
    }

    @Test
    void viewsOfTwoBuffersOfTwoDtypesInterleavedAreScaledAsSeparateTensors() {
        Tensor floats = buffer(60, torch.ScalarType.Float);
        Tensor doubles = buffer(60, torch.ScalarType.Double);
        List<Tensor> f = views(floats, 0, 20, 60);
        List<Tensor> d = views(doubles, 0, 30, 60);
        assertClipsAsSeparate(List.of(f.get(0), d.get(0), f.get(1), d.get(1)), floats, doubles);
    }

    @Test
    void halfViewsAreScaledAsSeparateHalfTensors() {
        Tensor buffer = buffer(300, torch.ScalarType.Half);
        List<Tensor> params = views(buffer, 0, 100, 300);
        List<Tensor> separate = cloneWithGrads(params);
        double ours = ClipGrad.clipGradNorm(params, 0.5).item_double();
        assertEquals(ClipGrad.clipGradNorm(separate, 0.5).item_double(), ours, 0.0, "norm, bit for bit");
        for (int i = 0; i < params.size(); i++) {
            assertArrayEquals(Tensors.toDoubles(separate.get(i).grad()), Tensors.toDoubles(params.get(i).grad()),
                    "gradient " + i + ", bit for bit");
        }
    }

    @Test
    void repeatedCallsOnOneListFollowItsGradientsAsTheyAreNow() {
        Tensor buffer = buffer(400, torch.ScalarType.Float);
        List<Tensor> params = views(buffer, 0, 100, 200, 300, 400);
        assertClipsAsSeparate(params, buffer);

        params.get(2).mutable_grad().put(torch.randn(100)); // replaced by a separate tensor
        assertClipsAsSeparate(params, buffer);

        params.get(1).mutable_grad().put(new Tensor()); // dropped, as zero_grad(set_to_none) does
        assertClipsAsSeparate(params, buffer);

        params.get(3).mutable_grad().put(torch.randn(100).to(torch.ScalarType.Double)); // another dtype group
        assertClipsAsSeparate(params, buffer);

        params.remove(0); // the list itself changed
        params.add(paramWithGrad(buffer.narrow(0, 0, 100)));
        assertClipsAsSeparate(params, buffer);
    }

    /**
     * Clips {@code params} (gradients that view {@code buffers}, or not) to half their norm and, for comparison,
     * separate copies with ClipGrad and with libtorch; the norms and gradients must match, and the elements of the
     * buffers that were sentinels (no gradient views them) must still be.
     */
    private static void assertClipsAsSeparate(List<Tensor> params, Tensor... buffers) {
        List<Tensor> separate = cloneWithGrads(params);
        List<Tensor> libtorch = cloneWithGrads(params);
        List<double[]> buffersBefore = new ArrayList<>();
        for (Tensor b : buffers) {
            buffersBefore.add(Tensors.toDoubles(b));
        }
        double maxNorm = ClipGrad.getTotalNorm(Gradients.of(params), 2, false).item_double() / 2;

        double ours = ClipGrad.clipGradNorm(params, maxNorm).item_double();
        double copies = ClipGrad.clipGradNorm(separate, maxNorm).item_double();
        double theirs = torch.clip_grad_norm_(new TensorVector(libtorch.toArray(new Tensor[0])), maxNorm, 2, false);

        assertEquals(copies, ours, 0.0, "norm, bit for bit");
        assertClose(theirs, ours, 1e-6, 0, "norm against libtorch");
        for (int i = 0; i < params.size(); i++) {
            double[] actual = ClipGradFixtures.gradValues(params.get(i));
            assertArrayEquals(ClipGradFixtures.gradValues(separate.get(i)), actual, "gradient " + i + ", bit for bit");
            assertAllClose(ClipGradFixtures.gradValues(libtorch.get(i)), actual, 1e-6, 1e-12,
                    "gradient " + i + " against libtorch");
        }
        for (int b = 0; b < buffers.length; b++) {
            double[] before = buffersBefore.get(b);
            double[] after = Tensors.toDoubles(buffers[b]);
            for (int i = 0; i < before.length; i++) {
                if (before[i] == SENTINEL) {
                    assertEquals(SENTINEL, after[i], 0.0, "buffer " + b + " element " + i + " is in no gradient");
                }
            }
        }
    }

    /** A buffer of {@code n} sentinel values of {@code dtype}. */
    private static Tensor buffer(long n, torch.ScalarType dtype) {
        return torch.full(new long[] {n}, new Scalar(SENTINEL)).to(dtype);
    }

    /**
     * Parameters whose gradients are contiguous views {@code [bounds[i], bounds[i + 1])} of {@code buffer}, filled
     * with random values.
     */
    private static List<Tensor> views(Tensor buffer, long... bounds) {
        List<Tensor> params = new ArrayList<>();
        for (int i = 0; i + 1 < bounds.length; i++) {
            Tensor view = buffer.narrow(0, bounds[i], bounds[i + 1] - bounds[i]);
            params.add(paramWithGrad(view));
        }
        return params;
    }

    /** A parameter whose gradient is {@code view}, filled with random values. */
    private static Tensor paramWithGrad(Tensor view) {
        view.normal_(0, 1, new GeneratorOptional());
        Tensor p = torch.zeros(view.sizes().vec().get()).to(view.scalar_type());
        p.mutable_grad().put(view);
        return p;
    }
}
