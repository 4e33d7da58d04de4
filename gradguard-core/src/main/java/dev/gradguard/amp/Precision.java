package dev.gradguard.amp;

import dev.gradguard.model.Model;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * The arithmetic of the forward pass, {@code --precision}. Parameters, gradients and optimizer state are
 * float32 in every case (master weights, as in PyTorch AMP); only the forward pass and the loss run under
 * {@link Autocast} in the lower precision.
 * <ul>
 *   <li>{@link #FP32}: no autocast;</li>
 *   <li>{@link #BF16}: bfloat16 autocast. bfloat16 has float32's exponent range, so gradients do not
 *       underflow and no loss scaling is needed;</li>
 *   <li>{@link #FP16}: float16 autocast with dynamic loss scaling ({@link GradScaler}): float16's range
 *       ends at 65504 and its smallest normal value is 6e-5, so small gradients underflow without it.</li>
 * </ul>
 */
public enum Precision {
    FP32(null),
    BF16(ScalarType.BFloat16),
    FP16(ScalarType.Half);

    /** The names {@code --precision} accepts. */
    public static final List<String> NAMES = Arrays.stream(values()).map(Precision::id).toList();

    private final ScalarType autocastType;

    Precision(ScalarType autocastType) {
        this.autocastType = autocastType;
    }

    /** The name as {@code --precision} spells it: {@code fp32}, {@code bf16}, {@code fp16}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The precision named {@code id} (case-insensitive).
     *
     * @throws IllegalArgumentException naming the allowed values
     */
    public static Precision of(String id) {
        for (Precision p : values()) {
            if (p.id().equalsIgnoreCase(id.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("precision must be one of " + String.join(", ", NAMES) + ", got '" + id + "'");
    }

    /** True for fp16 only: the one precision whose gradients need a {@link GradScaler}. */
    public boolean needsLossScaling() {
        return this == FP16;
    }

    /** An autocast region for {@code device} in this precision; {@link Autocast#none()} for fp32. */
    public Autocast autocast(Device device) {
        return autocastType == null ? Autocast.none() : Autocast.enable(device, autocastType);
    }

    /**
     * Runs one training-mode forward pass of {@code model} under this precision's autocast and discards it, so
     * that an op libtorch cannot run in this precision on this device is reported before training starts.
     * (libtorch 2.10's CPU build, for one, cannot run an LSTM's training forward pass in float16: oneDNN
     * finds no LSTM primitive, while inference works.) Nothing is learned and no gradient is written.
     *
     * @param modelName the model's name, for the message
     * @param input a batch the model accepts, on {@code device}
     * @throws IllegalArgumentException naming the precision, the model, the device and libtorch's reason, when
     *     the forward pass fails
     */
    public void checkForward(Model model, String modelName, Tensor input, Device device) {
        Objects.requireNonNull(model, "model");
        if (autocastType == null) {
            return;
        }
        try (PointerScope scope = new PointerScope(); Autocast autocast = autocast(device)) {
            model.forward(input);
        } catch (RuntimeException e) {
            String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
            throw new IllegalArgumentException("precision " + id() + " is not supported by model " + modelName + " on "
                    + device.str().getString() + " in this libtorch build (" + reason + ")"
                    + (this == FP16 ? "; use precision bf16" : "; use precision fp32"), e);
        }
    }
}
