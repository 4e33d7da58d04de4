package dev.gradguard.model;

import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.LayoutOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** What {@link CharTransformer} and {@link TransformerEncoderNet} share besides their blocks. */
final class Transformers {
    /** GPT-2's standard deviation for weights. */
    static final double INIT_STD = 0.02;

    private Transformers() {
    }

    static void checkSizes(int width, int layers, int heads, int maxLength) {
        RecurrentNet.requirePositive("width", width);
        RecurrentNet.requirePositive("layers", layers);
        RecurrentNet.requirePositive("heads", heads);
        RecurrentNet.requirePositive("maxLength", maxLength);
        if (width % heads != 0) {
            throw new IllegalArgumentException("width " + width + " must be divisible by heads " + heads);
        }
    }

    /**
     * {@code layers} blocks registered on {@code list} as {@code 0}, {@code 1}, ...; register {@code list} as
     * {@code blocks} and hold it (see {@link TransformerBlock}).
     */
    static TransformerBlock[] blocks(Module list, int width, int layers, int heads) {
        TransformerBlock[] blocks = new TransformerBlock[layers];
        for (int i = 0; i < layers; i++) {
            blocks[i] = new TransformerBlock(width, heads);
            list.register_module(Integer.toString(i), blocks[i].module());
        }
        return blocks;
    }

    /**
     * GPT-2's initialisation (Radford et al. 2019, as nanoGPT writes it) by parameter name: biases 0,
     * LayerNorms 1 and 0, the two projections back into the residual stream ({@code attn.out_proj.weight},
     * {@code mlp.proj.weight}) N(0, 0.02 / sqrt(2 layers)), every other weight and embedding N(0, 0.02).
     */
    static void initialise(Module module, int layers) {
        double residualStd = INIT_STD / Math.sqrt(2.0 * layers);
        StringTensorDict parameters = module.named_parameters(true);
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (long i = 0; i < parameters.size(); i++) {
                String name = parameters.get(i).key().getString();
                Tensor p = parameters.get(i).value();
                if (name.contains("ln_")) {
                    if (name.endsWith(".weight")) {
                        p.fill_(new Scalar(1.0));
                    } else {
                        p.zero_();
                    }
                } else if (name.endsWith("bias")) {
                    p.zero_();
                } else if (name.endsWith("out_proj.weight") || name.endsWith("mlp.proj.weight")) {
                    torch.normal_(p, 0, residualStd);
                } else {
                    torch.normal_(p, 0, INIT_STD);
                }
            }
        }
    }

    /** Positions {@code [time, 1]} (0, 1, ..., time - 1) on {@code like}'s device. */
    static Tensor positions(long time, Tensor like) {
        return torch.arange(new Scalar(time), new ScalarTypeOptional(torch.ScalarType.Long), new LayoutOptional(),
                new DeviceOptional(like.device()), new BoolOptional()).unsqueeze(1);
    }

    static void checkLength(long time, int maxLength) {
        if (time > maxLength) {
            throw new IllegalArgumentException("sequence of length " + time + " is longer than maxLength " + maxLength);
        }
    }
}
