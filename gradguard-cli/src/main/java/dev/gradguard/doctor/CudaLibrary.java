package dev.gradguard.doctor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One shared library the GPU build of libtorch needs on the host, and where it was found.
 *
 * @param name the file name (soname) looked for, e.g. {@code libcudart.so.13}
 * @param component what provides it: {@link #CUDA}, {@link #CUDNN} or {@link #NCCL}
 * @param path where it was found, or {@code null} when it is missing
 */
public record CudaLibrary(String name, String component, String path) {
    /** The CUDA 13.1 toolkit's runtime libraries. */
    public static final String CUDA = "CUDA 13.1";
    /** cuDNN 9. */
    public static final String CUDNN = "cuDNN 9";
    /** NCCL 2. */
    public static final String NCCL = "NCCL 2";

    public boolean found() {
        return path != null;
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("component", component);
        m.put("found", found());
        m.put("path", path);
        return m;
    }
}
