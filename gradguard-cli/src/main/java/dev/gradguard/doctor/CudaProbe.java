package dev.gradguard.doctor;

import dev.gradguard.engine.Torch;
import dev.gradguard.metrics.Json;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.global.torch;

/**
 * The child-JVM side of {@code gradguard doctor}: loads libtorch's natives, asks CUDA what it sees, and prints
 * one line of JSON. Run it only in a separate process ({@link ProbeRunner}): loading the GPU natives on a
 * host without matching CUDA libraries kills the JVM with SIGSEGV, which no Java code can catch.
 *
 * <p>Output keys: {@code cuda_available}, {@code cudnn_available}, {@code device_count}, {@code devices}
 * (name, memory_mib, compute_capability), {@code build_config}; or {@code error} with exit status 2 when the
 * natives could not be loaded.
 */
public final class CudaProbe {
    private CudaProbe() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            Torch.load();
        } catch (RuntimeException | LinkageError e) {
            out.put("error", String.valueOf(e.getMessage()));
            System.out.println(Json.compact().writeValueAsString(out));
            System.exit(2);
        }
        out.put("build_config", torch.show_config().getString());
        boolean available = torch.cuda_is_available();
        out.put("cuda_available", available);
        out.put("cudnn_available", available && torch.cudnn_is_available());
        int count = available ? torch.cuda_device_count() : 0;
        out.put("device_count", count);
        List<Map<String, Object>> devices = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            devices.add(deviceProperties(i));
        }
        out.put("devices", devices);
        System.out.println(Json.compact().writeValueAsString(out));
        System.exit(0);
    }

    /**
     * Name, memory and compute capability through {@code torch_cuda.getDeviceProperties}, called reflectively:
     * its return type ({@code org.bytedeco.cuda.cudart.cudaDeviceProp}) is only on the class path of the
     * {@code -Pgpu} build.
     */
    private static Map<String, Object> deviceProperties(int index) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("index", index);
        try {
            Class<?> cuda = Class.forName("org.bytedeco.pytorch.global.torch_cuda");
            Object prop = cuda.getMethod("getDeviceProperties", byte.class).invoke(null, (byte) index);
            Class<?> type = prop.getClass();
            d.put("name", ((BytePointer) type.getMethod("name").invoke(prop)).getString());
            d.put("memory_mib", ((Number) type.getMethod("totalGlobalMem").invoke(prop)).longValue() >> 20);
            Method major = type.getMethod("major");
            Method minor = type.getMethod("minor");
            d.put("compute_capability", major.invoke(prop) + "." + minor.invoke(prop));
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            d.put("name", "unknown (" + e + ")");
            d.put("memory_mib", -1);
            d.put("compute_capability", "unknown");
        }
        return d;
    }
}
