package dev.gradguard.model;

import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.LayerNormOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.MultiheadAttentionImpl;
import org.bytedeco.pytorch.MultiheadAttentionOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * One pre-LayerNorm Transformer block, as in GPT-2: {@code x + attn(ln_1(x))}, then
 * {@code x + mlp(ln_2(x))} with {@code mlp = proj(gelu(fc(.)))} of 4x the width and the exact (erf) GELU.
 * The attention is libtorch's {@code MultiheadAttention}, whose parameters ({@code in_proj_weight},
 * {@code in_proj_bias}, {@code out_proj.*}) are named and ordered as {@code torch.nn.MultiheadAttention}'s.
 * Sequences are time-major, {@code [time, batch, width]}; no dropout.
 *
 * <p>Every {@link Module} made in Java must stay referenced from Java for as long as libtorch may use it:
 * libtorch calls back into its Java object when it saves or loads the model, and a collected one fails there.
 */
final class TransformerBlock {
    private final Module module = new Module("TransformerBlock");
    private final LayerNormImpl ln1;
    private final MultiheadAttentionImpl attn;
    private final LayerNormImpl ln2;
    // libtorch calls back into the Java object of a Module made in Java (save, load): hold it, or it is collected
    private final Module mlp;
    private final LinearImpl fc;
    private final LinearImpl proj;

    TransformerBlock(int width, int heads) {
        ln1 = module.register_module("ln_1", layerNorm(width));
        attn = module.register_module("attn", new MultiheadAttentionImpl(new MultiheadAttentionOptions(width, heads)));
        ln2 = module.register_module("ln_2", layerNorm(width));
        mlp = new Module("Mlp");
        module.register_module("mlp", mlp);
        fc = mlp.register_module("fc", new LinearImpl(width, 4L * width));
        proj = mlp.register_module("proj", new LinearImpl(4L * width, width));
    }

    static LayerNormImpl layerNorm(int width) {
        return new LayerNormImpl(new LayerNormOptions(new LongVector(new long[] {width})));
    }

    Module module() {
        return module;
    }

    /**
     * @param x {@code [time, batch, width]}
     * @param mask an additive {@code [time, time]} attention mask (0 or -inf), or an undefined tensor for
     *     attention over every position
     */
    Tensor forward(Tensor x, Tensor mask) {
        Tensor h = ln1.forward(x);
        x = x.add(attn.forward(h, h, h, new Tensor(), false, mask, true).get0());
        return x.add(proj.forward(torch.gelu(fc.forward(ln2.forward(x)))));
    }
}
