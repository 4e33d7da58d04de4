package dev.gradguard.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Torch;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BenchModelsTest {
    @BeforeAll
    static void load() {
        Torch.load();
    }

    private static void assertEveryParameterGetsAGradient(Model m, Tensor loss) {
        loss.backward();
        Parameters ps = Parameters.of(m.module());
        for (int i = 0; i < ps.size(); i++) {
            assertTrue(ps.get(i).grad().defined(), ps.name(i) + " has no gradient");
        }
    }

    @Test
    void convNetMapsImagesToClassLogits() {
        torch.manual_seed(0);
        ConvNet net = new ConvNet(10);
        Tensor out = net.forward(torch.randn(4, 3, 32, 32));
        assertArrayEquals(new long[] {4, 10}, out.sizes().vec().get());
        assertEquals(14, Parameters.of(net.module()).size(), "3 x (conv weight, bias, bn weight, bias) + head weight, bias");
        assertEveryParameterGetsAGradient(net, out.sum());
    }

    /**
     * The channels-last network computes the function of the same layers in the default layout: its logits and
     * every parameter's gradient equal those of libtorch's functional ops on the unconverted input, and the
     * gradients keep the parameters' contiguous layout.
     */
    @Test
    void convNetComputesTheDefaultLayoutsFunction() {
        torch.manual_seed(3);
        ConvNet net = new ConvNet(10);
        Parameters ps = Parameters.of(net.module());
        Tensor images = torch.randn(8, 3, 32, 32);

        Tensor out = net.forward(images);
        out.pow(new Scalar(2.0)).sum().backward();
        List<Tensor> grads = new ArrayList<>();
        for (Tensor p : ps) {
            assertTrue(p.grad().is_contiguous(), "gradient layout");
            grads.add(p.grad().clone());
            p.grad().zero_();
        }

        Tensor x = images;
        for (int block = 0; block < 3; block++) {
            int at = 4 * block; // conv weight, conv bias, batch-norm weight, batch-norm bias
            x = torch.conv2d(x, ps.get(at), new TensorOptional(ps.get(at + 1)), new long[] {1, 1}, new long[] {1, 1},
                    new long[] {1, 1}, 1);
            x = torch.batch_norm(x, new TensorOptional(ps.get(at + 2)), new TensorOptional(ps.get(at + 3)),
                    new TensorOptional(), new TensorOptional(), true, 0.1, 1e-5, false);
            x = torch.max_pool2d(torch.relu(x), 2L, 2L);
            assertTrue(x.is_contiguous(), "the reference runs in the default layout");
        }
        Tensor reference = torch.linear(torch.adaptive_avg_pool2d(x, 1L, 1L).flatten(1, -1), ps.get(12),
                new TensorOptional(ps.get(13)));
        reference.pow(new Scalar(2.0)).sum().backward();

        assertTrue(torch.allclose(out, reference, 1e-5, 1e-5, false), "logits");
        for (int i = 0; i < ps.size(); i++) {
            assertTrue(torch.allclose(grads.get(i), ps.get(i).grad(), 1e-4, 1e-5, false), ps.name(i) + " gradient");
        }
    }

    @Test
    void transformerClassifierMapsTokenSequencesToClassLogits() {
        torch.manual_seed(0);
        TransformerClassifier net = new TransformerClassifier(100, 32, 64, 4, 2, 5);
        Tensor ids = torch.randint(100, new long[] {20, 3});
        Tensor out = net.forward(ids);
        assertArrayEquals(new long[] {3, 5}, out.sizes().vec().get());
        assertEveryParameterGetsAGradient(net, out.sum());
    }
}
