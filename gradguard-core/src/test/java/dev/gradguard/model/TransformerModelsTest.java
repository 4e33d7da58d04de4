package dev.gradguard.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import java.util.Arrays;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shapes, names, causality and initialisation of the Transformers; their numbers are checked against PyTorch in interop. */
class TransformerModelsTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        Torch.load();
    }

    @Test
    void theCharTransformerGivesLogitsAtEveryStepAndSeesNoLaterToken() {
        torch.manual_seed(5);
        CharTransformer lm = new CharTransformer(7, 6, 8, 2, 2);
        Tensor a = lm.forward(Tensors.fromLongs(new long[] {1, 2, 3, 4, 5, 6}, 3, 2));
        Tensor b = lm.forward(Tensors.fromLongs(new long[] {1, 2, 3, 4, 0, 0}, 3, 2));
        assertArrayEquals(new long[] {3, 2, 7}, a.sizes().vec().get());
        assertArrayEquals(Tensors.toFloats(a.narrow(0, 0, 2)), Tensors.toFloats(b.narrow(0, 0, 2)));
        assertFalse(Arrays.equals(Tensors.toFloats(a.select(0, 2)), Tensors.toFloats(b.select(0, 2))),
                "the last step sees the changed token");
    }

    @Test
    void theCharTransformersHeadIsTheTokenEmbeddingSoItAddsNoParameter() {
        Parameters p = Parameters.of(new CharTransformer(7, 6, 8, 1, 2).module());
        assertEquals(List.of("token_embedding.weight", "position_embedding.weight",
                "blocks.0.ln_1.weight", "blocks.0.ln_1.bias", "blocks.0.attn.in_proj_weight", "blocks.0.attn.in_proj_bias",
                "blocks.0.attn.out_proj.weight", "blocks.0.attn.out_proj.bias", "blocks.0.ln_2.weight", "blocks.0.ln_2.bias",
                "blocks.0.mlp.fc.weight", "blocks.0.mlp.fc.bias", "blocks.0.mlp.proj.weight", "blocks.0.mlp.proj.bias",
                "ln_f.weight", "ln_f.bias"), p.names());
        long block = 2 * 8 + (3 * 8 * 8 + 3 * 8) + (8 * 8 + 8) + 2 * 8 + (8 * 32 + 32) + (32 * 8 + 8);
        assertEquals(7 * 8 + 6 * 8 + block + 2 * 8, p.numel());
    }

    @Test
    void theEncoderReadsOutTheLastPositionAfterAttendingToAll() {
        torch.manual_seed(6);
        TransformerEncoderNet net = new TransformerEncoderNet(3, 5, 8, 2, 4, 2);
        Tensor x = torch.randn(5, 4, 3);
        Tensor out = net.forward(x);
        assertArrayEquals(new long[] {4, 2}, out.sizes().vec().get());
        Tensor changedFirstStep = x.clone();
        changedFirstStep.select(0, 0).fill_(new org.bytedeco.pytorch.Scalar(3.0));
        assertFalse(Arrays.equals(Tensors.toFloats(out), Tensors.toFloats(net.forward(changedFirstStep))),
                "the last position attends to the first");
        assertEquals(List.of("input.weight", "input.bias", "position_embedding.weight"),
                Parameters.of(net.module()).names().subList(0, 3));
        assertEquals(List.of("ln_f.weight", "ln_f.bias", "head.weight", "head.bias"),
                Parameters.of(net.module()).names().subList(3 + 2 * 12, 3 + 2 * 12 + 4));
    }

    @Test
    void aSavedModelLoadsIntoAFreshOneAfterGarbageCollection() throws InterruptedException {
        torch.manual_seed(8);
        CharTransformer saved = new CharTransformer(7, 6, 8, 2, 2);
        torch.manual_seed(9);
        TransformerEncoderNet savedEncoder = new TransformerEncoderNet(3, 5, 8, 2, 2, 1);
        // libtorch calls back into the Java objects of the blocks and their MLPs when it saves or loads
        System.gc();
        Thread.sleep(200);
        System.gc();
        CharTransformer loaded = new CharTransformer(7, 6, 8, 2, 2);
        roundTrip(saved.module(), loaded.module());
        assertEquals(Parameters.of(saved.module()).checksum(), Parameters.of(loaded.module()).checksum());
        TransformerEncoderNet loadedEncoder = new TransformerEncoderNet(3, 5, 8, 2, 2, 1);
        roundTrip(savedEncoder.module(), loadedEncoder.module());
        assertEquals(Parameters.of(savedEncoder.module()).checksum(), Parameters.of(loadedEncoder.module()).checksum());
    }

    private void roundTrip(org.bytedeco.pytorch.Module from, org.bytedeco.pytorch.Module to) {
        String file = dir.resolve("model.pt").toString();
        OutputArchive out = new OutputArchive();
        from.save(out);
        out.save_to(file);
        InputArchive in = new InputArchive();
        in.load_from(file);
        to.load(in);
    }

    @Test
    void weightsStartAsGpt2s() {
        torch.manual_seed(7);
        int layers = 8;
        Parameters p = Parameters.of(new CharTransformer(50, 64, 128, layers, 4).module());
        assertEquals(0.02, std(p, "token_embedding.weight"), 0.001);
        assertEquals(0.02, std(p, "blocks.3.attn.in_proj_weight"), 0.001);
        assertEquals(0.02 / Math.sqrt(2 * layers), std(p, "blocks.3.attn.out_proj.weight"), 0.0005);
        assertEquals(0.02 / Math.sqrt(2 * layers), std(p, "blocks.3.mlp.proj.weight"), 0.0005);
        assertEquals(0.0, p.get(p.names().indexOf("blocks.3.mlp.fc.bias")).abs().max().item_double());
        assertEquals(1.0, p.get(p.names().indexOf("blocks.3.ln_2.weight")).mean().item_double());
    }

    private static double std(Parameters p, String name) {
        return p.get(p.names().indexOf(name)).std().item_double();
    }

    @Test
    void badSizesAndTooLongSequencesAreRefused() {
        assertEquals("width 10 must be divisible by heads 4",
                assertThrows(IllegalArgumentException.class, () -> new CharTransformer(5, 8, 10, 1, 4)).getMessage());
        assertEquals("layers must be at least 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> new TransformerEncoderNet(2, 8, 8, 0, 1, 1)).getMessage());
        CharTransformer lm = new CharTransformer(5, 4, 8, 1, 2);
        assertEquals("sequence of length 5 is longer than maxLength 4", assertThrows(IllegalArgumentException.class,
                () -> lm.forward(Tensors.fromLongs(new long[5], 5, 1))).getMessage());
    }
}
