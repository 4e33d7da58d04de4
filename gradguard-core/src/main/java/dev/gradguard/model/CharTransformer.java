package dev.gradguard.model;

import dev.gradguard.engine.Torch;
import org.bytedeco.pytorch.EmbeddingImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A GPT-style character language model (Radford et al. 2018/2019): token embeddings plus learned position
 * embeddings, {@code layers} pre-LayerNorm blocks with causal multi-head self-attention and a GELU MLP of 4x
 * the width (see below), a final LayerNorm, and a head that shares the token embedding's weight
 * ({@code logits = ln_f(x) · token_embeddingᵀ}, Press and Wolf 2017), so the head adds no parameter. Input
 * int64 token ids {@code [time, batch]} with {@code time <= maxLength}; output logits
 * {@code [time, batch, vocabulary]}, where step {@code t} sees tokens {@code 0..t} only and predicts token
 * {@code t + 1}, like {@link CharLstm}. No dropout.
 *
 * <p>Parameters, in {@code named_parameters()} order: {@code token_embedding.weight},
 * {@code position_embedding.weight}, then for each block {@code i}: {@code blocks.i.ln_1.*},
 * {@code blocks.i.attn.in_proj_weight}, {@code blocks.i.attn.in_proj_bias},
 * {@code blocks.i.attn.out_proj.*} (as {@code torch.nn.MultiheadAttention}), {@code blocks.i.ln_2.*},
 * {@code blocks.i.mlp.fc.*}, {@code blocks.i.mlp.proj.*}; then {@code ln_f.*}. {@code scripts/transformer_check.py}
 * holds the equivalent {@code torch.nn.Module}, which loads these weights with {@code strict=True}.
 *
 * <p>Initialisation is GPT-2's, not libtorch's per-layer defaults: weights and embeddings N(0, 0.02), the
 * projections back into the residual stream N(0, 0.02 / sqrt(2 layers)), biases 0, LayerNorms 1 and 0; call
 * {@code torch.manual_seed} first for reproducible weights.
 */
public final class CharTransformer implements Model {
    private final org.bytedeco.pytorch.Module module = new org.bytedeco.pytorch.Module("CharTransformer");
    private final EmbeddingImpl tokenEmbedding;
    private final TransformerTrunk trunk;
    private final int vocabulary;

    /**
     * @param vocabulary number of distinct tokens, at least 1
     * @param maxLength the longest input sequence (positions learned), at least 1
     * @param width model width (d_model), at least 1 and divisible by {@code heads}
     * @param layers Transformer blocks, at least 1
     * @param heads attention heads per block, at least 1
     * @throws IllegalArgumentException if a size is below 1 or {@code width} is not divisible by {@code heads}
     */
    public CharTransformer(int vocabulary, int maxLength, int width, int layers, int heads) {
        RecurrentNet.requirePositive("vocabulary", vocabulary);
        Transformers.checkSizes(width, layers, heads, maxLength);
        Torch.load();
        this.vocabulary = vocabulary;
        tokenEmbedding = module.register_module("token_embedding", new EmbeddingImpl(vocabulary, width));
        trunk = new TransformerTrunk(module, maxLength, width, layers, heads, true);
        Transformers.initialise(module, layers);
    }

    public int vocabulary() {
        return vocabulary;
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
     * @param tokens int64 {@code [time, batch]} with values in {@code [0, vocabulary)}
     * @return logits {@code [time, batch, vocabulary]}
     * @throws IllegalArgumentException if {@code time > maxLength}
     */
    @Override
    public Tensor forward(Tensor tokens) {
        return torch.linear(trunk.forward(tokenEmbedding.forward(tokens)), tokenEmbedding.weight());
    }
}
