package dev.gradguard.doctor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * libtorch's build as {@code torch.show_config()} describes it.
 *
 * @param torchVersion {@code TORCH_VERSION}, e.g. {@code 2.10.0}, or {@code "unknown"}
 * @param blas {@code BLAS_INFO}, e.g. {@code open}, or {@code "unknown"}
 * @param openmp whether the build uses OpenMP ({@code USE_OPENMP=ON} or an "OpenMP" line)
 * @param onednn the oneDNN version line, or {@code "none"}
 * @param gloo {@code USE_GLOO}
 * @param cuda {@code USE_CUDA}
 * @param nccl {@code USE_NCCL}
 * @param cudaVersion {@code CUDA_VERSION}, or {@code "none"}
 * @param cudnnVersion {@code CUDNN_VERSION}, or {@code "none"}
 */
public record BuildInfo(String torchVersion, String blas, boolean openmp, String onednn, boolean gloo,
        boolean cuda, boolean nccl, String cudaVersion, String cudnnVersion) {

    private static final Pattern KEY_VALUE = Pattern.compile("([A-Z_][A-Z0-9_]*)=([^,\\n]*)");
    private static final Pattern ONEDNN = Pattern.compile("(?m)^\\s*-\\s*Intel\\(R\\) MKL-DNN v?([^\\s(]+)|(?m)^\\s*-\\s*oneDNN v?([^\\s(]+)");

    /** Reads the text {@code show_config()} returns; keys it lacks come back as "unknown"/"none"/false. */
    public static BuildInfo parse(String showConfig) {
        Map<String, String> kv = new LinkedHashMap<>();
        Matcher m = KEY_VALUE.matcher(showConfig);
        while (m.find()) {
            kv.putIfAbsent(m.group(1), m.group(2).trim());
        }
        Matcher dnn = ONEDNN.matcher(showConfig);
        String onednn = dnn.find() ? (dnn.group(1) != null ? dnn.group(1) : dnn.group(2)) : "none";
        boolean openmp = on(kv.get("USE_OPENMP")) || showConfig.contains("OpenMP");
        return new BuildInfo(kv.getOrDefault("TORCH_VERSION", "unknown"), kv.getOrDefault("BLAS_INFO", "unknown"),
                openmp, onednn, on(kv.get("USE_GLOO")), on(kv.get("USE_CUDA")), on(kv.get("USE_NCCL")),
                kv.getOrDefault("CUDA_VERSION", "none"), kv.getOrDefault("CUDNN_VERSION", "none"));
    }

    private static boolean on(String v) {
        return v != null && (v.equalsIgnoreCase("ON") || v.equals("1") || v.equalsIgnoreCase("TRUE"));
    }

    /** The fields as the JSON report names them. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("torch_version", torchVersion);
        m.put("blas", blas);
        m.put("openmp", openmp);
        m.put("onednn", onednn);
        m.put("use_gloo", gloo);
        m.put("use_cuda", cuda);
        m.put("use_nccl", nccl);
        m.put("cuda_version", cudaVersion);
        m.put("cudnn_version", cudnnVersion);
        return m;
    }
}
