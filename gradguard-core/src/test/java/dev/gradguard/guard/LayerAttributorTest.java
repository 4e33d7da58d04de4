package dev.gradguard.guard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.clip.Clip;
import dev.gradguard.clip.ParameterNorms;
import dev.gradguard.clip.PipelineReport;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LayerAttributorTest {
    @BeforeAll
    static void load() {
        Torch.load();
    }

    /** Layers a, b, c, d with gradient scales 1, 100, 3, 0.5. */
    private static Parameters layers() {
        torch.manual_seed(5);
        double[] scales = {1, 100, 3, 0.5};
        List<String> names = List.of("enc.weight", "enc.bias", "dec.weight", "head.weight");
        List<Tensor> tensors = new ArrayList<>();
        for (double scale : scales) {
            Tensor p = torch.zeros(6, 4);
            p.mutable_grad().put(torch.randn(6, 4).mul(new Scalar(scale)));
            tensors.add(p);
        }
        return Parameters.of(names, tensors);
    }

    @Test
    void aCalmStepIsNotExamined() {
        Parameters ps = layers();
        PipelineReport clip = Clip.chain(Clip.norm(1000.0)).apply(ps, 0, 0.1);
        GuardDecision d = new NonFiniteGuard(5).decide(0, 0.1, clip);
        assertTrue(LayerAttributor.defaults().attribute(ps, clip, d).isEmpty());
    }

    @Test
    void aHardClippedStepNamesTheLargestLayersWithTheirPreClipNorms() {
        Parameters ps = layers();
        Map<String, Double> before = ParameterNorms.norms(ps);
        PipelineReport clip = Clip.chain(Clip.norm(1.0)).apply(ps, 0, 0.1);
        GuardDecision d = new NonFiniteGuard(5).decide(0, 0.1, clip);
        LayerAttribution a = new LayerAttributor(0.1, 2).attribute(ps, clip, d).orElseThrow();
        assertTrue(a.trigger().startsWith("clipped hard (coefficient 0.00"), a.trigger());
        assertEquals(List.of("enc.bias", "dec.weight"), a.topLayers().stream().map(LayerAttribution.LayerNorm::name).toList());
        assertEquals(before.get("enc.bias"), a.topLayers().get(0).norm(), 1e-4 * before.get("enc.bias"));
        assertEquals(before.get("dec.weight"), a.topLayers().get(1).norm(), 1e-4 * before.get("dec.weight"));
        assertTrue(a.nonFiniteLayers().isEmpty());
    }

    @Test
    void aNonFiniteStepNamesTheLayersHoldingNanOrInf() {
        Parameters ps = layers();
        ps.get(2).grad().index_fill_(0, torch.zeros(new long[] {1}).to(torch.ScalarType.Long), new Scalar(Double.POSITIVE_INFINITY));
        ps.get(3).grad().fill_(new Scalar(Double.NaN));
        PipelineReport clip = Clip.chain(Clip.norm(1.0)).apply(ps, 7, 0.1);
        GuardDecision d = new NonFiniteGuard(5).decide(7, 0.1, clip);
        LayerAttribution a = LayerAttributor.defaults().attribute(ps, clip, d).orElseThrow();
        assertEquals("gradient norm is NaN", a.trigger());
        assertEquals(List.of("dec.weight", "head.weight"), a.nonFiniteLayers());
        // what plots of them: dec.weight's first row (4 elements) is inf, the other 5 rows are its finite part
        LayerAttribution.NonFiniteLayer dec = a.nonFinite().get(0);
        double finitePart = ps.get(2).grad().narrow(0, 1, 5).norm().item_double();
        assertEquals(finitePart, dec.finiteNorm(), 1e-6 * finitePart);
        assertEquals(4, dec.nonFiniteElements());
        assertEquals(new LayerAttribution.NonFiniteLayer("head.weight", 0.0, 24), a.nonFinite().get(1));
        assertEquals("enc.bias", a.topLayers().get(0).name());
        assertEquals(2, a.topLayers().size(), "only the finite layers are ranked");
        assertTrue(a.describe().startsWith("gradient norm is NaN; NaN/inf in dec.weight, head.weight; largest gradients: enc.bias "),
                a.describe());
    }

    @Test
    void aSpikeSkipIsExaminedWithUntouchedGradients() {
        Parameters ps = layers();
        Map<String, Double> before = ParameterNorms.norms(ps);
        PipelineReport clip = Clip.chain(Clip.spikeAbs(10.0)).apply(ps, 0, 0.1);
        GuardDecision d = new NonFiniteGuard(5).decide(0, 0.1, clip);
        LayerAttribution a = LayerAttributor.defaults().attribute(ps, clip, d).orElseThrow();
        assertTrue(a.trigger().startsWith("skipped: "), a.trigger());
        assertEquals(before.get("enc.bias"), a.topLayers().get(0).norm(), 0.0);
    }
}
