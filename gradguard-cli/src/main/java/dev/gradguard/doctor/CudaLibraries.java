package dev.gradguard.doctor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the CUDA, cuDNN and NCCL libraries that {@code org.bytedeco:pytorch:2.10.0-1.5.13:linux-x86_64-gpu}
 * links against but does not ship, where JavaCPP and the dynamic loader look: {@code /usr/local/cuda-13.1/lib64},
 * {@code /usr/local/cuda/lib64}, the directories of {@code LD_LIBRARY_PATH}, and the loader cache
 * ({@code ldconfig -p}).
 */
public final class CudaLibraries {

    /** Every library the GPU build needs, by soname, with the component that provides it. */
    public static final Map<String, String> REQUIRED = required();

    private CudaLibraries() {
    }

    private static Map<String, String> required() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String n : List.of("libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcusparse.so.12",
                "libcufft.so.12", "libcurand.so.10", "libcusolver.so.12", "libcufile.so.0", "libnvrtc.so.13",
                "libnvJitLink.so.13")) {
            m.put(n, CudaLibrary.CUDA);
        }
        for (String n : List.of("libcudnn.so.9", "libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9",
                "libcudnn_adv.so.9", "libcudnn_heuristic.so.9", "libcudnn_engines_precompiled.so.9",
                "libcudnn_engines_runtime_compiled.so.9")) {
            m.put(n, CudaLibrary.CUDNN);
        }
        m.put("libnccl.so.2", CudaLibrary.NCCL);
        return Collections.unmodifiableMap(m);
    }

    /** The directories searched before the loader cache, in order, for this {@code LD_LIBRARY_PATH} value. */
    public static List<Path> searchDirectories(String ldLibraryPath) {
        List<Path> dirs = new ArrayList<>(List.of(Path.of("/usr/local/cuda-13.1/lib64"), Path.of("/usr/local/cuda/lib64")));
        if (ldLibraryPath != null) {
            for (String d : ldLibraryPath.split(":")) {
                if (!d.isBlank() && !dirs.contains(Path.of(d))) {
                    dirs.add(Path.of(d));
                }
            }
        }
        return dirs;
    }

    /**
     * Where each required library is.
     *
     * @param directories searched first, in order (a library counts when the file exists there)
     * @param ldconfigOutput the text of {@code ldconfig -p}, or empty when it could not run
     * @return one entry per {@link #REQUIRED} library, in that order
     */
    public static List<CudaLibrary> locate(List<Path> directories, String ldconfigOutput) {
        Map<String, String> cache = parseLdconfig(ldconfigOutput);
        List<CudaLibrary> out = new ArrayList<>();
        for (Map.Entry<String, String> lib : REQUIRED.entrySet()) {
            String path = null;
            for (Path dir : directories) {
                Path candidate = dir.resolve(lib.getKey());
                if (Files.exists(candidate)) {
                    path = candidate.toString();
                    break;
                }
            }
            if (path == null) {
                path = cache.get(lib.getKey());
            }
            out.add(new CudaLibrary(lib.getKey(), lib.getValue(), path));
        }
        return out;
    }

    /** Sonames to paths from {@code ldconfig -p} lines like {@code "\tlibnccl.so.2 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libnccl.so.2"}. */
    static Map<String, String> parseLdconfig(String text) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int arrow = line.indexOf("=>");
            if (arrow < 0) {
                continue;
            }
            String left = line.substring(0, arrow).trim();
            int space = left.indexOf(' ');
            String soname = space < 0 ? left : left.substring(0, space);
            if (left.contains("x86-64") || !left.contains("(")) {
                m.putIfAbsent(soname, line.substring(arrow + 2).trim());
            }
        }
        return m;
    }
}
