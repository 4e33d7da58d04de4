package dev.gradguard.engine;

import java.util.Locale;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/**
 * Turns {@code --device} into a libtorch {@link Device}: {@code cpu}, {@code cuda} (the first GPU),
 * {@code cuda:N}, or {@code auto} (the first GPU when CUDA is usable, else the CPU). Asking whether CUDA is
 * usable is safe with either native build: the CPU build answers no.
 */
public final class Devices {
    /** The allowed forms, for messages. */
    public static final String ALLOWED = "auto, cpu, cuda, cuda:N";

    private Devices() {
    }

    /**
     * @throws IllegalArgumentException for an unknown form, or a GPU when CUDA is not usable here (with the
     *     hint to run {@code gradguard doctor}), or a GPU index beyond the devices present
     */
    public static Device resolve(String spec) {
        Torch.load();
        String s = spec == null ? "" : spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return new Device("cpu");
        }
        if (s.equals("auto")) {
            return torch.cuda_is_available() ? new Device("cuda:0") : new Device("cpu");
        }
        if (s.equals("cuda") || s.matches("cuda:\\d{1,3}")) {
            int index = s.equals("cuda") ? 0 : Integer.parseInt(s.substring(5));
            if (!torch.cuda_is_available()) {
                throw new IllegalArgumentException("device " + spec + ": CUDA is not usable on this machine "
                        + "(run 'gradguard doctor' to see why; device auto falls back to the CPU)");
            }
            int count = torch.cuda_device_count();
            if (index >= count) {
                throw new IllegalArgumentException("device " + spec + ": there " + (count == 1 ? "is 1 GPU" : "are " + count
                        + " GPUs") + " (cuda:0 to cuda:" + (count - 1) + ")");
            }
            return new Device("cuda:" + index);
        }
        throw new IllegalArgumentException("device must be one of " + ALLOWED + ", got '" + spec + "'");
    }

    /**
     * The device of one data-parallel worker, torchrun's convention: {@code auto} and {@code cuda} mean the GPU
     * numbered by the worker's {@code LOCAL_RANK}, so the workers of a node each take their own GPU;
     * {@code cpu} and an explicit {@code cuda:N} are kept as given.
     *
     * @throws IllegalArgumentException as {@link #resolve(String)}, also when the node has fewer GPUs than
     *     workers
     */
    public static Device resolveForWorker(String spec, int localRank) {
        if (localRank < 0) {
            throw new IllegalArgumentException("localRank must be >= 0, got " + localRank);
        }
        String s = spec == null ? "" : spec.trim().toLowerCase(Locale.ROOT);
        Device d = resolve(spec);
        if (localRank == 0 || !d.is_cuda() || !(s.equals("auto") || s.equals("cuda"))) {
            return d;
        }
        int count = torch.cuda_device_count();
        if (localRank >= count) {
            throw new IllegalArgumentException("device " + spec + ": worker LOCAL_RANK " + localRank + " needs GPU cuda:"
                    + localRank + " but this node has " + count + " (start at most " + count + " workers per node)");
        }
        return new Device("cuda:" + localRank);
    }

    /**
     * Waits until the device has finished the work queued on it, so that a clock read afterwards has
     * measured that work: CUDA runs kernels asynchronously, and a call returns when its kernels are queued.
     * On the CPU work is done when a call returns, and this does nothing. Only benchmarks need it; training
     * reads the loss back every step, which waits anyway.
     *
     * <p>On CUDA this is libtorch's {@code torch::cuda::synchronize(index)} (all streams of that GPU). That
     * path is untested here: the machines this was written on have no GPU (with the CPU natives the call
     * throws "No CUDA GPUs are available", which is why it is made only for a CUDA device).
     */
    public static void synchronize(Device device) {
        if (device.is_cuda()) {
            torch.cuda_synchronize(device.has_index() ? device.index() : -1);
        }
    }

    /** The device as libtorch names it, e.g. {@code cpu} or {@code cuda:0}. */
    public static String name(Device device) {
        return device.str().getString();
    }
}
