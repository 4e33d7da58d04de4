package dev.gradguard.checkpoint;

import dev.gradguard.engine.Torch;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * The state of libtorch's default CPU random generator, the one behind {@code randn}, {@code rand},
 * dropout and parameter initialisation when no generator is passed.
 *
 * <p>The bindings reach it as {@code torch.getDefaultCPUGenerator()} (C++
 * {@code at::detail::getDefaultCPUGenerator()}); its {@code get_state()} returns a uint8 tensor of 5,056
 * bytes (libtorch's {@code CPUGeneratorImplState}: the Mersenne Twister's words, the seed and the cached
 * normal samples) and {@code set_state(Tensor)} takes one back, like Python's
 * {@code torch.get_rng_state()}/{@code torch.set_rng_state()}. CUDA generators are not covered.
 */
public final class CpuGeneratorState {
    private CpuGeneratorState() {
    }

    /** A copy of the default CPU generator's state. */
    public static byte[] capture() {
        Torch.load();
        try (PointerScope scope = new PointerScope()) {
            Tensor state = torch.getDefaultCPUGenerator().get_state().contiguous();
            byte[] bytes = new byte[(int) state.numel()];
            new BytePointer(state.data_ptr_byte()).capacity(bytes.length).get(bytes);
            return bytes;
        }
    }

    /**
     * Sets the default CPU generator to a state {@link #capture()} returned.
     *
     * @throws IllegalArgumentException when libtorch refuses the bytes (wrong size); the message is one line
     */
    public static void restore(byte[] state) {
        Torch.load();
        try (PointerScope scope = new PointerScope()) {
            Tensor tensor = torch.from_blob(new BytePointer(state), new long[] {state.length},
                    new TensorOptions(torch.ScalarType.Byte)).clone();
            torch.getDefaultCPUGenerator().set_state(tensor);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("libtorch refused the generator state: "
                    + CheckpointException.firstLine(e), e);
        }
    }
}
