package dev.gradguard.doctor;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Whether gradguard can train on a GPU here, the one reason that decides it, and what to do about it.
 *
 * @param cudaAvailable true only when the child-JVM probe loaded the GPU natives and CUDA saw a device
 * @param reason the first blocking problem, or what works
 * @param fix what to do, or empty when nothing is needed
 */
public record Verdict(boolean cudaAvailable, String reason, String fix) {

    /** The reason when the machine has no NVIDIA driver. */
    public static final String NO_DRIVER = "no NVIDIA driver: this machine has no usable GPU";
    /** The reason when the CPU build of libtorch is on the class path. */
    public static final String CPU_NATIVES = "CPU natives on the class path (org.bytedeco:pytorch:2.10.0-1.5.13:linux-x86_64)";

    /**
     * Applies the rules in the order a person would fix things: the driver (nothing else matters without
     * one), the native build, the CUDA libraries, cuDNN, NCCL, then what the child-JVM probe reported.
     */
    public static Verdict of(Facts f) {
        if (!f.driver().present()) {
            return no(NO_DRIVER, "run on a machine with an NVIDIA GPU and driver >= " + Driver.MIN_MAJOR_FOR_CUDA_13
                    + " (in a container: docker run --gpus all); on this machine gradguard trains on the CPU");
        }
        Optional<Integer> major = f.driver().major();
        if (major.isPresent() && major.get() < Driver.MIN_MAJOR_FOR_CUDA_13) {
            return no("the NVIDIA driver " + f.driver().version() + " is older than CUDA 13.1 needs (>= "
                    + Driver.MIN_MAJOR_FOR_CUDA_13 + ")", "upgrade the NVIDIA driver to the " + Driver.MIN_MAJOR_FOR_CUDA_13
                    + " branch or newer");
        }
        if (f.natives() == Natives.CPU) {
            return no(CPU_NATIVES, "build with -Pgpu: mvn -Pgpu package (then run bin/gradguard doctor again)");
        }
        if (f.natives() == Natives.NONE) {
            return no("libtorch's natives are not on the class path", "build with -Pgpu: mvn -Pgpu package");
        }
        List<CudaLibrary> cuda = f.missing(CudaLibrary.CUDA);
        if (!cuda.isEmpty()) {
            return no("CUDA 13.1 libraries missing: " + names(cuda), "install the CUDA 13.1 runtime libraries "
                    + "(apt-get install cuda-libraries-13-1 from NVIDIA's repository) or add their directory to LD_LIBRARY_PATH");
        }
        List<CudaLibrary> cudnn = f.missing(CudaLibrary.CUDNN);
        if (!cudnn.isEmpty()) {
            return no("cuDNN 9 missing: " + names(cudnn), "install cuDNN 9 for CUDA 13 (apt-get install libcudnn9-cuda-13)");
        }
        List<CudaLibrary> nccl = f.missing(CudaLibrary.NCCL);
        if (!nccl.isEmpty()) {
            return no("NCCL 2 missing: " + names(nccl), "install NCCL 2 for CUDA 13 (apt-get install libnccl2)");
        }
        ProbeOutcome p = f.probe();
        String rerun = "run the probe alone to see its output: java -cp gradguard-cli/target/gradguard.jar " + CudaProbe.class.getName();
        return switch (p.status()) {
            case NOT_RUN -> no("the CUDA probe did not run: " + p.detail(), rerun);
            case TIMED_OUT -> no("the CUDA probe did not answer: " + p.detail(), rerun);
            case CRASHED -> no("the GPU natives crashed while loading: " + p.detail(),
                    "the libraries found are probably not the builds libtorch 2.10.0 expects (CUDA 13.1, cuDNN 9, NCCL 2); "
                            + "check the paths listed under cuda_libraries, then " + rerun);
            case FAILED -> no("the GPU natives could not be loaded: " + p.detail(), rerun);
            case ANSWERED -> answered(p);
        };
    }

    private static Verdict answered(ProbeOutcome p) {
        if (!p.cudaAvailable() || p.devices().isEmpty()) {
            return no("libtorch's CUDA build loaded, but torch.cuda_is_available() is false",
                    "check that nvidia-smi works as this user and, in a container, that it runs with --gpus all");
        }
        return new Verdict(true, "CUDA available: " + p.devices().size() + " device(s), "
                + p.devices().stream().map(GpuDevice::name).collect(Collectors.joining(", ")), "");
    }

    private static Verdict no(String reason, String fix) {
        return new Verdict(false, reason, fix);
    }

    private static String names(List<CudaLibrary> libs) {
        return libs.stream().map(CudaLibrary::name).collect(Collectors.joining(", "));
    }
}
