package dev.gradguard.doctor;

import java.util.List;

/**
 * Everything the doctor observed, and nothing it concluded: {@link Verdict#of(Facts)} turns this into a
 * verdict, so every rule can be tested with facts written by hand.
 *
 * @param host the machine and JVM
 * @param natives which native build is on the class path
 * @param nativesLocation where it was found (a jar or directory), or empty
 * @param libtorchVersion e.g. {@code 2.10.0}, or {@code "unknown"}
 * @param build the parsed {@code show_config()} of the build that could be loaded safely
 * @param intraOpThreads libtorch's intra-op threads, or -1 when libtorch was not loaded in this JVM
 * @param driver the NVIDIA driver, possibly {@link Driver#absent()}
 * @param smiDevices the GPUs {@code nvidia-smi} lists
 * @param libraries each library the GPU build needs, found or missing
 * @param probe what the child-JVM CUDA probe reported
 */
public record Facts(Host host, Natives natives, String nativesLocation, String libtorchVersion, BuildInfo build,
        int intraOpThreads, Driver driver, List<GpuDevice> smiDevices, List<CudaLibrary> libraries, ProbeOutcome probe) {

    public Facts {
        smiDevices = List.copyOf(smiDevices);
        libraries = List.copyOf(libraries);
    }

    /** The libraries of one component (e.g. {@link CudaLibrary#CUDNN}) that are missing. */
    public List<CudaLibrary> missing(String component) {
        return libraries.stream().filter(l -> l.component().equals(component) && !l.found()).toList();
    }

    /** True when every library the GPU build needs was found. */
    public boolean allLibrariesFound() {
        return libraries.stream().allMatch(CudaLibrary::found);
    }

    /** The devices to report: what the probe saw when it answered, else what nvidia-smi lists. */
    public List<GpuDevice> devices() {
        return probe.status() == ProbeOutcome.Status.ANSWERED && !probe.devices().isEmpty() ? probe.devices() : smiDevices;
    }
}
