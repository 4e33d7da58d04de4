package dev.gradguard.model;

import org.bytedeco.pytorch.EmbeddingImpl;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;

/**
 * The part {@link CharTransformer} and {@link TransformerEncoderNet} share between their input map and their
 * head: learned position embeddings, {@code layers} {@link TransformerBlock}s and a final LayerNorm,
 * registered on the owning module as {@code position_embedding}, {@code blocks} and {@code ln_f}, in that
 * order. Holds every module it makes (see {@link TransformerBlock}).
 */
final class TransformerTrunk {
    private final EmbeddingImpl positionEmbedding;
    private final Module blockList = new Module("ModuleList");
    private final TransformerBlock[] blocks;
    private final LayerNormImpl lnF;
    private final int maxLength;
    private final boolean causal;

    /** @param causal whether position {@code t} attends to positions {@code 0..t} only */
    TransformerTrunk(Module owner, int maxLength, int width, int layers, int heads, boolean causal) {
        this.maxLength = maxLength;
        this.causal = causal;
        positionEmbedding = owner.register_module("position_embedding", new EmbeddingImpl(maxLength, width));
        owner.register_module("blocks", blockList);
        blocks = Transformers.blocks(blockList, width, layers, heads);
        lnF = owner.register_module("ln_f", TransformerBlock.layerNorm(width));
    }

    int maxLength() {
        return maxLength;
    }

    /**
     * @param embedded the input map's output {@code [time, batch, width]}
     * @return {@code ln_f(blocks(embedded + positions))}, {@code [time, batch, width]}
     * @throws IllegalArgumentException if {@code time > maxLength}
     */
    Tensor forward(Tensor embedded) {
        long time = embedded.size(0);
        Transformers.checkLength(time, maxLength);
        Tensor x = embedded.add(positionEmbedding.forward(Transformers.positions(time, embedded)));
        for (TransformerBlock block : blocks) {
            x = block.forward(x, causal);
        }
        return lnF.forward(x);
    }
}
