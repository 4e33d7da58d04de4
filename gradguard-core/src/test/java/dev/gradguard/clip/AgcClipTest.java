package dev.gradguard.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AgcClipTest {
    private static final long[][] SHAPES = {{8, 4}, {8, 3, 3, 3}, {5}, {}};

    @BeforeAll
    static void load() {
        Torch.load();
    }

    private static Tensor param(long[] shape, Tensor weight, Tensor grad) {
        Tensor p = weight.reshape(shape).clone();
        p.mutable_grad().put(grad.reshape(shape).clone());
        return p;
    }

    private static Parameters random(long seed, List<String> names, double gradScale) {
        torch.manual_seed(seed);
        List<Tensor> tensors = new ArrayList<>();
        for (long[] shape : SHAPES) {
            tensors.add(param(shape, torch.randn(shape), torch.randn(shape).mul(new Scalar(gradScale))));
        }
        return Parameters.of(names, tensors);
    }

    /**
     * The AGC formula written out element by element in float64: units are the rows of the tensor viewed
     * as (size of dim 0, rest), or the whole tensor when it has at most one dimension.
     */
    private static double[] expectedGrad(Tensor param, double factor, double eps, int[] clippedUnits) {
        double[] w = Tensors.toDoubles(param.detach());
        double[] g = Tensors.toDoubles(param.grad());
        int units = param.dim() <= 1 ? 1 : (int) param.size(0);
        int width = g.length / units;
        double[] out = g.clone();
        for (int u = 0; u < units; u++) {
            double wNorm = 0;
            double gNorm = 0;
            for (int j = u * width; j < (u + 1) * width; j++) {
                wNorm += w[j] * w[j];
                gNorm += g[j] * g[j];
            }
            double max = Math.max(Math.sqrt(wNorm), eps) * factor;
            gNorm = Math.sqrt(gNorm);
            if (gNorm > max) {
                clippedUnits[0]++;
                for (int j = u * width; j < (u + 1) * width; j++) {
                    out[j] = g[j] * max / Math.max(gNorm, 1e-6);
                }
            } else {
                clippedUnits[1]++;
            }
        }
        return out;
    }

    @Test
    void matchesThePerUnitFormulaOnEveryShape() {
        List<String> names = List.of("a.weight", "b.weight", "b.bias", "c.scale");
        for (long seed = 1; seed <= 3; seed++) {
            Parameters ps = random(seed, names, 0.1);
            int[] clippedAndNot = new int[2];
            List<double[]> expected = new ArrayList<>();
            for (Tensor p : ps) {
                expected.add(expectedGrad(p, 0.1, 1e-3, clippedAndNot));
            }
            double[] expectedAll = expected.stream().flatMapToDouble(java.util.Arrays::stream).toArray();
            double before = ClipGrad.getTotalNorm(Gradients.of(ps), 2, false).item_double();

            PipelineReport r = GradientPipeline.of(new AgcClip(0.1, 1e-3, false, List.of())).apply(ps, 0, 1.0);

            assertTrue(clippedAndNot[0] > 0 && clippedAndNot[1] > 0, "the data must exercise both branches");
            for (int i = 0; i < ps.size(); i++) {
                double[] actual = Tensors.toDoubles(ps.get(i).grad());
                for (int j = 0; j < actual.length; j++) {
                    assertEquals(expected.get(i)[j], actual[j], 1e-5 * Math.abs(expected.get(i)[j]) + 1e-8,
                            ps.name(i) + "[" + j + "], seed " + seed);
                }
            }
            double after = Math.sqrt(java.util.Arrays.stream(expectedAll).map(v -> v * v).sum());
            TransformReport t = r.transforms().get(0);
            assertTrue(t.clipped());
            assertEquals(before, t.normBefore(), 0.0);
            assertEquals(after, t.normAfter(), 1e-5 * after);
            assertEquals(t.normAfter() / t.normBefore(), t.coefficient(), 0.0);
            assertEquals(after, r.postClipNorm(), 1e-5 * after);
        }
    }

    @Test
    void unitsWithinTheirBoundKeepTheirGradientBitForBit() {
        List<String> names = List.of("a.weight", "b.weight", "b.bias", "c.scale");
        Parameters ps = random(7, names, 1e-6);
        List<double[]> before = new ArrayList<>();
        for (Tensor p : ps) {
            before.add(Tensors.toDoubles(p.grad()));
        }
        TransformReport r = GradientPipeline.of(new AgcClip(0.1, 1e-3, false, List.of())).apply(ps, 0, 1.0)
                .transforms().get(0);
        assertFalse(r.clipped());
        assertEquals(1.0, r.coefficient());
        for (int i = 0; i < ps.size(); i++) {
            assertArrayEquals(before.get(i), Tensors.toDoubles(ps.get(i).grad()), 0.0);
        }
    }

    @Test
    void aZeroWeightBoundsItsGradientByEpsTimesTheFactor() {
        Tensor p = torch.zeros(new long[] {2, 3});
        p.mutable_grad().put(torch.ones(new long[] {2, 3}));
        Parameters ps = Parameters.of(List.of("w"), List.of(p));
        GradientPipeline.of(new AgcClip(0.5, 1e-3, false, List.of())).apply(ps, 0, 1.0);
        double[] rowNorms = Tensors.toDoubles(torch.linalg_vector_norm(p.grad(), new Scalar(2.0), new long[] {1},
                false, new org.bytedeco.pytorch.ScalarTypeOptional()));
        assertArrayEquals(new double[] {5e-4, 5e-4}, rowNorms, 1e-9);
    }

    private static Parameters bigGradients(List<String> names) {
        List<Tensor> tensors = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            Tensor p = torch.ones(new long[] {2, 2});
            p.mutable_grad().put(torch.ones(new long[] {2, 2}).mul(new Scalar(100.0)));
            tensors.add(p);
        }
        return Parameters.of(names, tensors);
    }

    private static List<String> untouched(Parameters ps) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < ps.size(); i++) {
            if (Tensors.toDoubles(ps.get(i).grad())[0] == 100.0) {
                names.add(ps.name(i));
            }
        }
        return names;
    }

    @Test
    void theFinalLayerIsTheTrailingRunOfParametersSharingTheLastModulePrefix() {
        List<String> names = List.of("head.weight", "body.0.weight", "body.0.bias", "head.weight2", "head.bias");
        Parameters ps = bigGradients(names);
        AgcClip agc = new AgcClip(0.01);
        assertEquals(List.of("head.weight2", "head.bias"), agc.excludedNames(ps));
        GradientPipeline.of(agc).apply(ps, 0, 1.0);
        assertEquals(List.of("head.weight2", "head.bias"), untouched(ps));

        // names without a dot share the prefix "", so a flat naming has one layer: everything
        assertEquals(List.of("w", "b"), agc.excludedNames(bigGradients(List.of("w", "b"))));
        assertEquals(List.of(), new AgcClip(0.01, 1e-3, false, List.of()).excludedNames(ps));
    }

    @Test
    void patternsExcludeByExactNameModulePrefixOrGlob() {
        List<String> names = List.of("embed.weight", "body.0.weight", "body.0.bias", "body.1.weight", "bodyx.weight",
                "head.weight");
        Parameters ps = bigGradients(names);
        assertEquals(List.of("body.0.bias", "body.1.weight", "head.weight"),
                new AgcClip(0.01, 1e-3, false, List.of("body.1", "*.bias", "head.weight")).excludedNames(ps));
        assertEquals(List.of("body.0.weight", "body.0.bias", "body.1.weight", "head.weight"),
                new AgcClip(0.01, 1e-3, true, List.of("body")).excludedNames(ps));
        assertEquals(List.of("embed.weight", "body.0.weight", "body.1.weight", "bodyx.weight", "head.weight"),
                new AgcClip(0.01, 1e-3, false, List.of("*weight")).excludedNames(ps));
        GradientPipeline.of(new AgcClip(0.01, 1e-3, false, List.of("embed"))).apply(ps, 0, 1.0);
        assertEquals(List.of("embed.weight"), untouched(ps));
    }
}
