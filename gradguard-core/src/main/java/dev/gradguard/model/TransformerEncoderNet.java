package dev.gradguard.model;

import dev.gradguard.engine.Torch;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;

/**
 * A Transformer encoder read out at the end, the attention counterpart of {@link RecurrentNet}: a linear
 * map of each step's features to the model width plus learned position embeddings, {@code layers}
 * pre-LayerNorm blocks with multi-head self-attention over all positions and a GELU MLP of 4x the width (as
 * in {@link CharTransformer}, without the causal mask), a final LayerNorm, and a linear head on the LAST
 * position. Input float32 {@code [time, batch, features]} with {@code time <= maxLength}; output
 * {@code [batch, outputs]}. No dropout.
 *
 * <p>Parameters, in {@code named_parameters()} order: {@code input.*}, {@code position_embedding.weight},
 * {@code blocks.i.*} (named as in {@link CharTransformer}), {@code ln_f.*}, {@code head.*}.
 * {@code scripts/transformer_check.py} holds the equivalent {@code torch.nn.Module}.
 *
 * <p>Initialisation is GPT-2's, as {@link CharTransformer}'s (the input map and the head are weights like
 * any other: N(0, 0.02), biases 0); call {@code torch.manual_seed} first for reproducible weights.
 */
public final class TransformerEncoderNet implements Model {
    private final org.bytedeco.pytorch.Module module = new org.bytedeco.pytorch.Module("TransformerEncoderNet");
    private final LinearImpl input;
    private final TransformerTrunk trunk;
    private final LinearImpl head;

    /**
     * @param features inputs per time step, at least 1
     * @param maxLength the longest input sequence (positions learned), at least 1
     * @param width model width (d_model), at least 1 and divisible by {@code heads}
     * @param layers Transformer blocks, at least 1
     * @param heads attention heads per block, at least 1
     * @param outputs outputs of the head, at least 1
     * @throws IllegalArgumentException if a size is below 1 or {@code width} is not divisible by {@code heads}
     */
    public TransformerEncoderNet(int features, int maxLength, int width, int layers, int heads, int outputs) {
        RecurrentNet.requirePositive("features", features);
        RecurrentNet.requirePositive("outputs", outputs);
        Transformers.checkSizes(width, layers, heads, maxLength);
        Torch.load();
        input = module.register_module("input", new LinearImpl(features, width));
        trunk = new TransformerTrunk(module, maxLength, width, layers, heads, false);
        head = module.register_module("head", new LinearImpl(width, outputs));
        Transformers.initialise(module, layers);
    }

    /** The longest sequence {@link #forward} takes. */
    public int maxLength() {
        return trunk.maxLength();
    }

    @Override
    public org.bytedeco.pytorch.Module module() {
        return module;
    }

    /**
     * @param sequence float32 {@code [time, batch, features]}
     * @return {@code [batch, outputs]}, the head applied to the last position
     * @throws IllegalArgumentException if {@code time > maxLength}
     */
    @Override
    public Tensor forward(Tensor sequence) {
        long time = sequence.size(0);
        return head.forward(trunk.forward(input.forward(sequence)).select(0, time - 1));
    }
}
