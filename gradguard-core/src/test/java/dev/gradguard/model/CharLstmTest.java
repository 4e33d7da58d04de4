package dev.gradguard.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CharLstmTest {

    @BeforeAll
    static void load() {
        Torch.load();
    }

    @Test
    void logitsOverTheVocabularyAtEveryStep() {
        torch.manual_seed(5);
        CharLstm lm = new CharLstm(11, 4, 8);
        Tensor tokens = Tensors.fromLongs(new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0}, 4, 3);
        assertArrayEquals(new long[] {4, 3, 11}, lm.forward(tokens).sizes().vec().get());
    }

    @Test
    void isCausalAStepDoesNotSeeLaterTokens() {
        torch.manual_seed(6);
        CharLstm lm = new CharLstm(5, 3, 6);
        float[] a = Tensors.toFloats(lm.forward(Tensors.fromLongs(new long[] {1, 2, 3}, 3, 1)).select(0, 0));
        float[] b = Tensors.toFloats(lm.forward(Tensors.fromLongs(new long[] {1, 4, 0}, 3, 1)).select(0, 0));
        assertArrayEquals(a, b);
    }

    @Test
    void oneDnnsLstmAgreesWithLibtorchsOwnKernelsInOutputAndGradients() {
        torch.manual_seed(7);
        CharLstm lm = new CharLstm(13, 6, 16);
        Tensor tokens = torch.randint(13, new long[] {9, 4});
        Tensor target = torch.randint(13, new long[] {9, 4});
        Parameters p = Parameters.of(lm.module());
        // oneDNN's RNN primitive (the model's default on CPU float32) against ATen's LSTM cell, an independent kernel
        float[][] oneDnn = outputAndGradients(lm, p, tokens, target);
        float[][] aten = Torch.withoutOneDnn(() -> outputAndGradients(lm, p, tokens, target));
        for (int i = 0; i < oneDnn.length; i++) {
            for (int j = 0; j < oneDnn[i].length; j++) {
                assertEquals(aten[i][j], oneDnn[i][j], 1e-5 + 1e-5 * Math.abs(aten[i][j]), "tensor " + i + ", element " + j);
            }
        }
    }

    /** The logits, then each parameter's gradient of the mean cross-entropy, flattened. */
    private static float[][] outputAndGradients(CharLstm lm, Parameters p, Tensor tokens, Tensor target) {
        lm.module().zero_grad(true);
        Tensor logits = lm.forward(tokens);
        torch.cross_entropy(logits.reshape(-1, logits.size(2)), target.reshape(-1)).backward();
        float[][] out = new float[p.size() + 1][];
        out[0] = Tensors.toFloats(logits.detach());
        for (int i = 0; i < p.size(); i++) {
            out[i + 1] = Tensors.toFloats(p.get(i).grad());
        }
        return out;
    }

    @Test
    void parametersAreEmbeddingLstmAndHead() {
        Parameters p = Parameters.of(new CharLstm(7, 4, 8).module());
        assertEquals(List.of("embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                "lstm.bias_hh_l0", "head.weight", "head.bias"), p.names());
        assertEquals(7 * 4 + 4 * 8 * (4 + 8 + 2) + 8 * 7 + 7, p.numel());
    }
}
