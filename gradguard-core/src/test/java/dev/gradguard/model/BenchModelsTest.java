package dev.gradguard.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Torch;
import org.bytedeco.pytorch.Tensor;
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
