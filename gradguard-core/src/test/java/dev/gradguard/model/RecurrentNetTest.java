package dev.gradguard.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class RecurrentNetTest {

    @BeforeAll
    static void load() {
        Torch.load();
    }

    @ParameterizedTest
    @EnumSource(RecurrentNet.Cell.class)
    void outputIsBatchByOutputsFromTheLastStep(RecurrentNet.Cell cell) {
        torch.manual_seed(1);
        RecurrentNet net = new RecurrentNet(cell, 3, 8, 5);
        Tensor out = net.forward(torch.randn(7, 4, 3));
        assertArrayEquals(new long[] {4, 5}, out.sizes().vec().get());
    }

    @Test
    void rnnCellIsTanhElmanReadOutAtTheLastStep() {
        torch.manual_seed(2);
        RecurrentNet net = new RecurrentNet(RecurrentNet.Cell.RNN, 2, 6, 3);
        Parameters p = Parameters.of(net.module());
        Tensor x = torch.randn(5, 4, 2);
        // h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), h_0 = 0; output = W h_5 + b (torch.nn.RNN docs)
        Tensor h = torch.zeros(4, 6);
        for (int t = 0; t < 5; t++) {
            h = torch.tanh(x.select(0, t).matmul(p.get(0).t()).add(p.get(2))
                    .add(h.matmul(p.get(1).t())).add(p.get(3)));
        }
        float[] expected = Tensors.toFloats(h.matmul(p.get(4).t()).add(p.get(5)));
        float[] actual = Tensors.toFloats(net.forward(x));
        assertArrayEquals(expected, actual, 1e-5f);
    }

    @Test
    void parametersAreTheRecurrentLayerAndTheHeadWithTorchShapes() {
        RecurrentNet gru = new RecurrentNet(RecurrentNet.Cell.GRU, 6, 32, 4);
        Parameters p = Parameters.of(gru.module());
        assertEquals(List.of("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                "head.weight", "head.bias"), p.names());
        // torch.nn.GRU stacks 3 gates, LSTM 4, RNN 1
        assertArrayEquals(new long[] {96, 6}, p.get(0).sizes().vec().get());
        assertEquals(3 * 32 * (6 + 32 + 2) + 32 * 4 + 4, p.numel());
        assertEquals(4L * 32 * (6 + 32 + 2) + 32 * 4 + 4,
                Parameters.of(new RecurrentNet(RecurrentNet.Cell.LSTM, 6, 32, 4).module()).numel());
        assertEquals(32L * (6 + 32 + 2) + 32 * 4 + 4,
                Parameters.of(new RecurrentNet(RecurrentNet.Cell.RNN, 6, 32, 4).module()).numel());
    }

    @Test
    void defaultInitialisationIsTorchsUniformInOneOverSqrtHidden() {
        torch.manual_seed(3);
        Parameters p = Parameters.of(new RecurrentNet(RecurrentNet.Cell.GRU, 6, 16, 4).module());
        double bound = 1 / Math.sqrt(16);
        double max = p.get(1).abs().max().item_double();
        assertTrue(max <= bound && max > 0.9 * bound, "max |w_hh| = " + max);
    }

    @Test
    void sameSeedSameWeights() {
        torch.manual_seed(4);
        String a = Parameters.of(new RecurrentNet(RecurrentNet.Cell.LSTM, 2, 8, 1).module()).checksum();
        torch.manual_seed(4);
        String b = Parameters.of(new RecurrentNet(RecurrentNet.Cell.LSTM, 2, 8, 1).module()).checksum();
        assertEquals(a, b);
    }

    @Test
    void cellNamesParseAndUnknownNamesListTheAllowedOnes() {
        assertEquals(RecurrentNet.Cell.GRU, RecurrentNet.Cell.of("gru"));
        assertEquals(RecurrentNet.Cell.LSTM, RecurrentNet.Cell.of("LSTM"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RecurrentNet.Cell.of("tcn"));
        assertEquals("unknown cell 'tcn', allowed: rnn, lstm, gru", e.getMessage());
    }

    @Test
    void sizesBelowOneAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new RecurrentNet(RecurrentNet.Cell.RNN, 2, 0, 1));
        assertEquals("hidden must be at least 1, got 0", e.getMessage());
    }
}
