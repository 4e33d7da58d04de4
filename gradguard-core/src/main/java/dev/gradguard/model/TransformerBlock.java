package dev.gradguard.model;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LayerNormImpl;
import org.bytedeco.pytorch.LayerNormOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.MultiheadAttentionImpl;
import org.bytedeco.pytorch.MultiheadAttentionOptions;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * One pre-LayerNorm Transformer block, as in GPT-2: {@code x + attn(ln_1(x))}, then
 * {@code x + mlp(ln_2(x))} with {@code mlp = proj(gelu(fc(.)))} of 4x the width and the exact (erf) GELU.
 * The attention holds its parameters in libtorch's {@code MultiheadAttention}, so that they ({@code in_proj_weight},
 * {@code in_proj_bias}, {@code out_proj.*}) are named and ordered as {@code torch.nn.MultiheadAttention}'s, but
 * computes it as PyTorch's {@code F.multi_head_attention_forward} does with {@code need_weights=False}: the
 * packed input projection, then {@code scaled_dot_product_attention} (libtorch's fused CPU kernel), then the
 * output projection. The C++ module's own forward multiplies, masks and soft-maxes the whole
 * {@code [batch x heads, time, time]} score matrix op by op instead. Sequences are time-major,
 * {@code [time, batch, width]}; no dropout.
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
     * @param causal whether position {@code t} attends to positions {@code 0..t} only (else to every position)
     */
    Tensor forward(Tensor x, boolean causal) {
        x = x.add(attention(ln1.forward(x), causal));
        return x.add(proj.forward(torch.gelu(fc.forward(ln2.forward(x)))));
    }

    /** Self-attention over {@code h} {@code [time, batch, width]}, as {@code torch.nn.MultiheadAttention} computes it. */
    private Tensor attention(Tensor h, boolean causal) {
        long time = h.size(0);
        long batch = h.size(1);
        long width = h.size(2);
        long heads = attn.options().num_heads().get();
        // [time, batch, 3 x width] -> q, k, v, each [batch, heads, time, head width]
        Tensor qkv = torch.linear(h, attn.in_proj_weight(), attn.in_proj_bias())
                .view(time, batch, 3, heads, width / heads).permute(2, 1, 3, 0, 4);
        Tensor context = torch.scaled_dot_product_attention(qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2),
                new TensorOptional(), 0.0, causal, new DoubleOptional(), false);
        // [batch, heads, time, head width] -> [time, batch, width]
        return torch.linear(context.permute(2, 0, 1, 3).reshape(time, batch, width), parameter("out_proj.weight"),
                parameter("out_proj.bias"));
    }

    /** The attention's parameter called {@code name}, looked up at each use (the Java binding has no out_proj accessor). */
    private Tensor parameter(String name) {
        StringTensorDict parameters = attn.named_parameters(true);
        for (long i = 0; i < parameters.size(); i++) {
            if (parameters.get(i).key().getString().equals(name)) {
                return parameters.get(i).value();
            }
        }
        throw new IllegalStateException("MultiheadAttention has no parameter " + name);
    }
}
