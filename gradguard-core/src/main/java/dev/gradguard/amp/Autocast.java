package dev.gradguard.amp;

import dev.gradguard.engine.Torch;
import java.util.Objects;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A region of code that runs under libtorch's autocast, like PyTorch's {@code with torch.autocast(device_type,
 * dtype):}: inside it, the ops on autocast's lower-precision list (matrix products, {@code linear}, convolutions,
 * RNN layers, ...) run in {@code dtype} on the device's type, while parameters stay float32 and ops that need
 * the range (losses, reductions) run in float32. Use it with try-with-resources around the forward pass and
 * the loss only; {@code backward()} runs outside it, as in PyTorch.
 *
 * <p>{@link #close()} restores the autocast state found on entry (enabled flag and dtype of the device type),
 * even when the region ends with an exception. Leaving the outermost region clears autocast's weight-cast
 * cache, as PyTorch's {@code autocast.__exit__} does: the cache keeps the lower-precision copy of each float32
 * weight for the region's length, and a copy kept across an optimizer step would feed stale weights to the
 * next forward pass (and hold memory until cleared).
 *
 * <p>Autocast state is per thread: close a region on the thread that opened it. Regions nest.
 */
public final class Autocast implements AutoCloseable {
    private static final Autocast NONE = new Autocast(null, false, null);

    private final DeviceType deviceType;
    private final boolean wasEnabled;
    private final ScalarType previousDtype;
    private boolean closed;

    private Autocast(DeviceType deviceType, boolean wasEnabled, ScalarType previousDtype) {
        this.deviceType = deviceType;
        this.wasEnabled = wasEnabled;
        this.previousDtype = previousDtype;
    }

    /**
     * Enables autocast to {@code dtype} for {@code device}'s type until {@link #close()}.
     *
     * @param dtype the lower precision, {@code BFloat16} or {@code Half}
     * @throws IllegalArgumentException if libtorch has no autocast for the device's type
     */
    public static Autocast enable(Device device, ScalarType dtype) {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(dtype, "dtype");
        Torch.load();
        DeviceType type = device.type();
        if (!torch.is_autocast_available(type)) {
            throw new IllegalArgumentException("libtorch has no autocast for device type " + type);
        }
        Autocast region = new Autocast(type, torch.is_autocast_enabled(type), torch.get_autocast_dtype(type));
        torch.increment_nesting();
        torch.set_autocast_dtype(type, dtype);
        torch.set_autocast_enabled(type, true);
        return region;
    }

    /** A region that changes nothing (float32 training); closing it does nothing either. */
    public static Autocast none() {
        return NONE;
    }

    /** Restores the state found on entry; clears the weight-cast cache when this was the outermost region. Idempotent. */
    @Override
    public void close() {
        if (deviceType == null || closed) {
            return;
        }
        closed = true;
        torch.set_autocast_enabled(deviceType, wasEnabled);
        torch.set_autocast_dtype(deviceType, previousDtype);
        if (torch.decrement_nesting() == 0) {
            torch.clear_cache();
        }
    }
}
