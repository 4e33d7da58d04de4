package dev.gradguard.model;

import dev.gradguard.engine.Torch;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.BatchNorm2dImpl;
import org.bytedeco.pytorch.BatchNormOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A small convolutional image classifier for 32x32 RGB inputs (CIFAR-10 sized): three blocks of
 * 3x3 convolution, batch norm, ReLU and 2x2 max-pooling (32, 64, 128 channels), global average pooling
 * and a linear head. Input float32 {@code [batch, 3, 32, 32]}; output logits {@code [batch, classes]}.
 *
 * <p>The activations run channels-last ({@code torch.channels_last}): the input is laid out that way before the
 * first convolution, and every later layer keeps the layout. The function and the parameters (their shapes,
 * names and contiguous layout) are those of the same network in the default layout; only the memory order of
 * the activations differs, which oneDNN's convolutions and libtorch's max-pooling process faster on the CPU
 * (about 0.7x the step time of the default layout in PyTorch's own loop on the project's machine; see
 * docs/benchmarks.md).
 */
public final class ConvNet implements Model {
    private static final long[] CHANNELS = {3, 32, 64, 128};
    private final org.bytedeco.pytorch.Module module = new org.bytedeco.pytorch.Module("ConvNet");
    private final Conv2dImpl[] convs = new Conv2dImpl[CHANNELS.length - 1];
    private final BatchNorm2dImpl[] norms = new BatchNorm2dImpl[CHANNELS.length - 1];
    private final LinearImpl head;

    /** @param classes the number of classes, at least 2 */
    public ConvNet(int classes) {
        if (classes < 2) {
            throw new IllegalArgumentException("classes must be at least 2, got " + classes);
        }
        Torch.load();
        for (int i = 0; i < convs.length; i++) {
            Conv2dOptions options = new Conv2dOptions(CHANNELS[i], CHANNELS[i + 1], new LongPointer(3L, 3L));
            options.padding().put(new LongPointer(1L, 1L));
            convs[i] = module.register_module("conv" + (i + 1), new Conv2dImpl(options));
            norms[i] = module.register_module("bn" + (i + 1), new BatchNorm2dImpl(new BatchNormOptions(CHANNELS[i + 1])));
        }
        head = module.register_module("head", new LinearImpl(CHANNELS[CHANNELS.length - 1], classes));
    }

    @Override
    public org.bytedeco.pytorch.Module module() {
        return module;
    }

    @Override
    public Tensor forward(Tensor images) {
        Tensor x = images.contiguous(torch.MemoryFormat.ChannelsLast);
        for (int i = 0; i < convs.length; i++) {
            x = torch.max_pool2d(torch.relu(norms[i].forward(convs[i].forward(x))), 2L, 2L);
        }
        return head.forward(torch.adaptive_avg_pool2d(x, 1L, 1L).flatten(1, -1));
    }
}
