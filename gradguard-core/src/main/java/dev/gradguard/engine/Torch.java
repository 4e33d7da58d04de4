package dev.gradguard.engine;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.bytedeco.pytorch.global.torch;

/**
 * The one place where libtorch's native libraries are loaded and its thread pool is sized.
 *
 * <p>Call {@link #load()} before touching any {@code org.bytedeco.pytorch} class. It is idempotent and
 * thread-safe. Loading first extracts {@code libtorch_cpu.so} into JavaCPP's cache on its own: on a
 * machine with a system libtorch, extracting the small {@code libtorch.so} stub first binds the system
 * library and crashes the JVM with SIGSEGV, which no Java code can catch.
 *
 * <p>Loading also turns on libtorch's transparent-huge-page allocation ({@code THP_MEM_ALLOC_ENABLE=1}, read by
 * c10's CPU allocator) unless the variable is already set: CPU buffers of 2 MB and more are then aligned to and
 * advised onto huge pages. Without it, every large buffer freed and allocated again (oneDNN's LSTM keeps its
 * whole sequence's gates and states in one such workspace per step) comes back from the kernel as fresh pages,
 * each a page fault and a page zeroed; {@code docs/benchmarks.md} measures what that costs. Set
 * {@code THP_MEM_ALLOC_ENABLE=0} in the environment to keep libtorch's default.
 *
 * <p>GPU natives are never loaded speculatively here: on a host without the CUDA libraries that is an
 * uncatchable crash too. Probing a GPU belongs in a child JVM.
 */
public final class Torch {
    /** c10's switch for aligning large CPU buffers to transparent huge pages. */
    static final String HUGE_PAGE_ALLOCATION = "THP_MEM_ALLOC_ENABLE";
    private static volatile boolean loaded;

    private Torch() {
    }

    /**
     * Loads libtorch's natives once.
     *
     * @throws NativeLoadException when the natives are missing or cannot be loaded; its message says
     *     which platform was expected and what to check
     */
    public static void load() {
        if (loaded) {
            return;
        }
        synchronized (Torch.class) {
            if (loaded) {
                return;
            }
            String platform = Loader.getPlatform();
            try {
                Class<?> presets = Class.forName("org.bytedeco.pytorch.presets.torch");
                Loader.cacheResource(presets, "/org/bytedeco/pytorch/" + platform + "/libtorch_cpu.so");
                Loader.load(torch.class);
                // before the first allocation: the allocator reads the variable once
                torch.set_env(HUGE_PAGE_ALLOCATION, "1", false);
            } catch (Exception | UnsatisfiedLinkError | NoClassDefFoundError e) {
                throw new NativeLoadException("could not load libtorch natives for platform " + platform
                        + " (is org.bytedeco:pytorch:2.10.0-1.5.13:" + platform + " on the class path? "
                        + "a GPU build also needs CUDA 13.1, cuDNN 9 and NCCL 2 on the host): " + e, e);
            }
            loaded = true;
        }
    }

    /**
     * Sets libtorch's intra-op thread count and keeps OpenBLAS single-threaded. Call it before the first
     * parallel operation.
     *
     * <p>libtorch parallelises around its BLAS calls with its own OpenMP threads; OpenBLAS's threads, which
     * {@code set_num_threads} does not reach, would busy-wait beside them. Measured here on 2 cores: a
     * recurrent run took 34 s with OpenBLAS left at its default and 9 s with OpenBLAS at 1 thread, with
     * bit-identical results.
     *
     * @param threads at least 1
     * @throws IllegalArgumentException if {@code threads < 1}
     */
    public static void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        load();
        torch.set_num_threads(threads);
        openblas_nolapack.blas_set_num_threads(1);
    }

    /**
     * Turns flushing of denormal (subnormal) floats to zero on or off for this process's CPU threads,
     * libtorch's {@code torch.set_flush_denormal}. Arithmetic on denormals is tens of times slower on x86;
     * measured here, adaptive gradient clipping on a GRU drove a run into them and its steps went from 6 ms
     * to 75 ms. Flushing changes results only where values fall below about 1.2e-38 (float32).
     *
     * @return whether the CPU supports it (false means nothing changed)
     */
    public static boolean setFlushDenormal(boolean on) {
        load();
        return org.bytedeco.pytorch.Context.setFlushDenormal(on);
    }

    /**
     * Runs {@code body} with libtorch's oneDNN (mkldnn) kernels off, as PyTorch's
     * {@code torch.backends.mkldnn.flags(enabled=False)} does, and restores the previous setting: on CPU float32,
     * {@code at::lstm} then runs libtorch's own LSTM kernels instead of oneDNN's RNN primitive, which is what
     * {@code bench step --vs-pytorch}'s {@code lstm-native} workload compares. The setting is process-wide: other
     * threads running meanwhile lose oneDNN too (speed, not results).
     */
    public static <T> T withoutOneDnn(java.util.function.Supplier<T> body) {
        load();
        org.bytedeco.pytorch.Context context = torch.globalContext();
        boolean before = context.userEnabledMkldnn();
        context.setUserEnabledMkldnn(false);
        try {
            return body.get();
        } finally {
            context.setUserEnabledMkldnn(before);
        }
    }

    /** libtorch's current intra-op thread count. */
    public static int threads() {
        load();
        return torch.get_num_threads();
    }

    /** The default thread count: the cores this JVM may use. */
    public static int defaultThreads() {
        return Runtime.getRuntime().availableProcessors();
    }

    /** libtorch's build configuration as {@code show_config()} prints it. */
    public static String buildConfig() {
        load();
        return torch.show_config().getString();
    }

    /** The libtorch version, e.g. {@code 2.10.0}, read from the build configuration. */
    public static String version() {
        for (String part : buildConfig().split("[,\\n]")) {
            String p = part.trim();
            if (p.startsWith("TORCH_VERSION=")) {
                return p.substring("TORCH_VERSION=".length());
            }
        }
        return "unknown";
    }
}
