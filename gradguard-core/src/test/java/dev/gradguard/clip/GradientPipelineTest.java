package dev.gradguard.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GradientPipelineTest {

    @BeforeAll
    static void load() {
        Torch.load();
    }

    /** Two parameter sets with identical random gradients of the given scale. */
    private static Parameters[] twins(long seed, double scale) {
        torch.manual_seed(seed);
        long[][] shapes = {{3, 4}, {4}, {2, 2, 3}, {}};
        List<Tensor> a = new ArrayList<>();
        List<Tensor> b = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < shapes.length; i++) {
            Tensor g = torch.randn(shapes[i]).mul(new org.bytedeco.pytorch.Scalar(scale));
            a.add(withGrad(shapes[i], g));
            b.add(withGrad(shapes[i], g));
            names.add("p" + i);
        }
        return new Parameters[] {Parameters.of(names, a), Parameters.of(names, b)};
    }

    private static Tensor withGrad(long[] shape, Tensor grad) {
        Tensor p = torch.zeros(shape);
        p.mutable_grad().put(grad.clone());
        return p;
    }

    private static double[] allGrads(Parameters ps) {
        List<Double> out = new ArrayList<>();
        for (Tensor p : ps) {
            for (double v : Tensors.toDoubles(p.grad())) {
                out.add(v);
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    @Test
    void normClipMatchesLibtorchAndReportsBothNorms() {
        Parameters[] t = twins(1, 3.0);
        double libtorchNorm = torch.clip_grad_norm_(t[1].toVector(), 1.0);

        PipelineReport r = Clip.chain(Clip.norm(1.0)).apply(t[0], 0, 0.5);

        assertEquals(libtorchNorm, r.preClipNorm(), 1e-5 * libtorchNorm);
        assertTrue(r.clipped());
        assertEquals(1.0, r.postClipNorm(), 1e-5);
        assertEquals(1.0 / (libtorchNorm + 1e-6), r.coefficient(), 1e-6);
        assertArrayEquals(allGrads(t[1]), allGrads(t[0]), 1e-6);
        assertEquals(r.postClipNorm(), ClipGrad.getTotalNorm(Gradients.of(t[0]), 2, false).item_double(), 1e-5);
    }

    @Test
    void normClipBelowTheThresholdLeavesGradientsBitIdentical() {
        Parameters[] t = twins(2, 0.01);
        PipelineReport r = Clip.chain(Clip.norm(1.0)).apply(t[0], 0, 0.5);
        assertFalse(r.clipped());
        assertEquals(1.0, r.coefficient());
        assertEquals(r.preClipNorm(), r.postClipNorm());
        assertArrayEquals(allGrads(t[1]), allGrads(t[0]), 0.0);
    }

    @Test
    void infNormClipUsesTheMaxNormForTheDecisionAndReportsTheTwoNorm() {
        Parameters[] t = twins(3, 2.0);
        double libtorchInf = torch.clip_grad_norm_(t[1].toVector(), 0.5, Double.POSITIVE_INFINITY, false);
        PipelineReport r = Clip.chain(Clip.norm(0.5, Double.POSITIVE_INFINITY)).apply(t[0], 0, 0.5);
        double coef = 0.5 / (libtorchInf + 1e-6);
        assertEquals(coef, r.transforms().get(0).coefficient(), 1e-6);
        assertEquals(r.preClipNorm() * coef, r.postClipNorm(), 1e-6 * r.preClipNorm());
        assertArrayEquals(allGrads(t[1]), allGrads(t[0]), 1e-6);
    }

    @Test
    void aChainAppliesInOrderAndEachTransformSeesThePreviousNorm() {
        Parameters[] t = twins(4, 2.0);
        torch.clip_grad_value_(t[1].toVector(), 0.5);
        double afterValue = torch.clip_grad_norm_(t[1].toVector(), 1.0);

        PipelineReport r = Clip.chain(Clip.value(0.5), Clip.norm(1.0)).apply(t[0], 7, 0.5);

        assertEquals(2, r.transforms().size());
        assertEquals("value", r.transforms().get(0).transform());
        assertEquals(afterValue, r.transforms().get(0).normAfter(), 1e-5 * afterValue);
        assertEquals(afterValue, r.transforms().get(1).normBefore(), 1e-5 * afterValue);
        assertEquals(1.0, r.postClipNorm(), 1e-5);
        assertArrayEquals(allGrads(t[1]), allGrads(t[0]), 1e-6);
    }

    @Test
    void valueClipClampsBothSides() {
        Parameters[] t = twins(5, 3.0);
        PipelineReport r = Clip.chain(Clip.value(0.25)).apply(t[0], 0, 0.5);
        assertTrue(r.clipped());
        double[] g = allGrads(t[0]);
        double min = java.util.Arrays.stream(g).min().orElseThrow();
        double max = java.util.Arrays.stream(g).max().orElseThrow();
        assertEquals(-0.25, min, 1e-7);
        assertEquals(0.25, max, 1e-7);
    }

    @Test
    void theStateIsKeyedByIndexAndNameAndHoldsEachTransformsConfiguration() {
        GradientPipeline p = Clip.chain(Clip.value(1.0), Clip.norm(1.0));
        Map<String, Object> state = p.stateDict();
        assertEquals(List.of("0:value", "1:norm"), new ArrayList<>(state.keySet()));
        assertEquals(Map.of("config", Map.of("clipValue", 1.0), "state", Map.of()), state.get("0:value"));
        assertEquals(Map.of("maxNorm", 1.0, "normType", 2.0), StateMapsView.get(state, "1:norm").get("config"));
        p.loadStateDict(state);
        assertEquals("the saved gradient pipeline is [0:value, 1:norm] but this one is [0:norm]",
                assertThrows(IllegalArgumentException.class, () -> Clip.chain(Clip.norm(1.0)).loadStateDict(state))
                        .getMessage());
    }

    @Test
    void aCheckpointOfTheSameChainConfiguredOtherwiseIsRefusedBeforeAnythingChanges() {
        GradientPipeline saved = Clip.chain(Clip.autoclip(10.0), Clip.norm(1.0));
        Parameters[] t = twins(9, 3.0);
        saved.apply(t[0], 0, 0.1);
        GradientPipeline other = Clip.chain(Clip.autoclip(10.0), Clip.norm(2.0));
        String message = assertThrows(IllegalArgumentException.class, () -> other.loadStateDict(saved.stateDict()))
                .getMessage();
        assertEquals("transform 1:norm was saved with {maxNorm=1.0, normType=2.0} but is configured with "
                + "{maxNorm=2.0, normType=2.0} here", message);
        assertEquals(List.of(), ((AutoClip) other.transforms().get(0)).history(), "the autoclip before it is untouched");
        GradientPipeline same = Clip.chain(Clip.autoclip(10.0), Clip.norm(1.0));
        same.loadStateDict(saved.stateDict());
        assertEquals(((AutoClip) saved.transforms().get(0)).history(), ((AutoClip) same.transforms().get(0)).history());
    }

    @Test
    void aConfigurationSurvivesJsonWhereNumbersComeBackAsOtherTypes() {
        // a checkpoint's JSON gives back an Integer for the window and a string for the infinite norm type
        GradientPipeline p = Clip.chain(Clip.norm(1.0, Double.POSITIVE_INFINITY), Clip.autoclip(10.0, 5));
        Map<String, Object> state = new java.util.LinkedHashMap<>();
        state.put("0:norm", Map.of("config", Map.of("maxNorm", 1, "normType", "Infinity"),
                "state", Map.of("threshold", 1.0)));
        state.put("1:autoclip", Map.of("config", Map.of("percentile", 10, "window", 5L), "state",
                Map.of("history", List.of(0.5, 2))));
        p.loadStateDict(state);
        assertEquals(List.of(0.5, 2.0), ((AutoClip) p.transforms().get(1)).history());
    }

    @Test
    void noGradientsMeansNormZeroAndNothingClipped() {
        Parameters ps = Parameters.of(List.of("w"), List.of(torch.zeros(3)));
        PipelineReport r = Clip.chain(Clip.norm(1.0)).apply(ps, 0, 0.1);
        assertEquals(0.0, r.preClipNorm());
        assertFalse(r.clipped());
        assertEquals(1.0, r.coefficient());
        assertFalse(new TensorVector(ps.get(0)).get(0).grad().defined());
    }

    @Test
    void aSkipRequestStopsTheChainSoLaterTransformsDoNotLearnFromTheStep() {
        GradientPipeline p = Clip.chain(Clip.spikeAbs(1.0), Clip.autoclip(50.0));
        Parameters[] t = twins(6, 5.0);
        PipelineReport r = p.apply(t[0], 0, 0.1);
        assertEquals(1, r.transforms().size(), "autoclip never ran");
        assertTrue(r.skipReason().isPresent());
        assertArrayEquals(allGrads(t[1]), allGrads(t[0]), 0.0);
        Map<String, Object> autoclip = StateMapsView.get(StateMapsView.get(p.stateDict(), "1:autoclip"), "state");
        assertEquals(List.of(), autoclip.get("history"));
    }

    @Test
    void nonFiniteGradientsRunNoTransformAndStayAsTheyAre() {
        Parameters[] t = twins(7, 1.0);
        t[0].get(1).grad().fill_(new org.bytedeco.pytorch.Scalar(Double.NaN));
        t[1].get(1).grad().fill_(new org.bytedeco.pytorch.Scalar(Double.NaN));
        GradientPipeline p = Clip.chain(Clip.autoclip(10.0), Clip.norm(0.1));
        PipelineReport r = p.apply(t[0], 0, 0.1);
        assertTrue(Double.isNaN(r.preClipNorm()));
        assertTrue(r.transforms().isEmpty());
        assertFalse(r.clipped());
        assertArrayEquals(allGrads(t[1]), allGrads(t[0]), 0.0);
    }

    @Test
    void aNormClipsCurrentThresholdIsItsStateAndItsConfigurationStaysTheConfiguredOne() {
        NormClip clip = new NormClip(1.0, 2.0);
        clip.setThreshold(2.5);
        assertEquals(Map.of("maxNorm", 1.0, "normType", 2.0), clip.config());
        NormClip restored = new NormClip(1.0, 2.0);
        restored.loadStateDict(clip.stateDict());
        assertEquals(2.5, restored.threshold());
        Parameters[] t = twins(8, 10.0);
        PipelineReport r = GradientPipeline.of(restored).apply(t[0], 0, 0.1);
        assertEquals(2.5, r.postClipNorm(), 1e-5);
    }

    /** Reads a nested transform state. */
    private static final class StateMapsView {
        @SuppressWarnings("unchecked")
        static Map<String, Object> get(Map<String, Object> state, String key) {
            return (Map<String, Object>) state.get(key);
        }
    }
}
