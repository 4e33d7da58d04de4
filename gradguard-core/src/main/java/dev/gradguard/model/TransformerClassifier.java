package dev.gradguard.model;

import dev.gradguard.engine.Torch;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.EmbeddingImpl;
import org.bytedeco.pytorch.LayoutOptional;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TransformerEncoderImpl;
import org.bytedeco.pytorch.TransformerEncoderLayerOptions;
import org.bytedeco.pytorch.TransformerEncoderOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * A Transformer encoder sequence classifier: token and learned position embeddings, libtorch's
 * {@code TransformerEncoder} (post-norm layers, ReLU feed-forward of 4x the width, no dropout), mean
 * pooling over time and a linear head. Input int64 token ids {@code [time, batch]}; output logits
 * {@code [batch, classes]}.
 */
public final class TransformerClassifier implements Model {
    private final org.bytedeco.pytorch.Module module = new org.bytedeco.pytorch.Module("TransformerClassifier");
    private final EmbeddingImpl tokens;
    private final EmbeddingImpl positions;
    private final TransformerEncoderImpl encoder;
    private final LinearImpl head;
    private final int maxLength;

    /**
     * @param vocabulary token ids are in {@code [0, vocabulary)}
     * @param maxLength the longest sequence
     * @param width model width (d_model), divisible by {@code heads}
     * @param heads attention heads
     * @param layers encoder layers
     * @param classes output classes
     */
    public TransformerClassifier(int vocabulary, int maxLength, int width, int heads, int layers, int classes) {
        if (width % heads != 0) {
            throw new IllegalArgumentException("width " + width + " must be divisible by heads " + heads);
        }
        Torch.load();
        this.maxLength = maxLength;
        tokens = module.register_module("tokens", new EmbeddingImpl(vocabulary, width));
        positions = module.register_module("positions", new EmbeddingImpl(maxLength, width));
        TransformerEncoderLayerOptions layer = new TransformerEncoderLayerOptions(width, heads);
        layer.dim_feedforward().put(4L * width);
        layer.dropout().put(0.0);
        encoder = module.register_module("encoder", new TransformerEncoderImpl(new TransformerEncoderOptions(layer, layers)));
        head = module.register_module("head", new LinearImpl(width, classes));
    }

    @Override
    public org.bytedeco.pytorch.Module module() {
        return module;
    }

    @Override
    public Tensor forward(Tensor ids) {
        long time = ids.size(0);
        if (time > maxLength) {
            throw new IllegalArgumentException("sequence of length " + time + " is longer than maxLength " + maxLength);
        }
        // on the input's device: a model moved to a GPU gets GPU token ids
        Tensor pos = torch.arange(new Scalar(time), new ScalarTypeOptional(torch.ScalarType.Long), new LayoutOptional(),
                new DeviceOptional(ids.device()), new BoolOptional()).unsqueeze(1);
        Tensor x = tokens.forward(ids).add(positions.forward(pos));
        return head.forward(encoder.forward(x).mean(new long[] {0}, false, new ScalarTypeOptional()));
    }
}
