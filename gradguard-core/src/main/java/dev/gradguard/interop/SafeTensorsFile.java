package dev.gradguard.interop;

import dev.gradguard.model.Parameters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The tensors and metadata of a safetensors file that {@link SafeTensors#read} validated. The tensors are
 * CPU copies that this object owns (created outside any {@code PointerScope} the caller opens afterwards).
 */
public final class SafeTensorsFile {
    /** How many differences of each kind a mismatch message lists. */
    private static final int LISTED = 3;

    /** One tensor's header entry: dtype, shape and byte range in the data section. */
    record Entry(String name, Dtype dtype, long[] shape, long begin, long end) {
    }

    private final Path file;
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    SafeTensorsFile(Path file, List<Entry> entries, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.file = file;
        for (Entry e : entries) {
            this.entries.put(e.name(), e);
        }
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** The file read. */
    public Path file() {
        return file;
    }

    /** The header's {@code __metadata__}; empty when it has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor names, in the header's order. */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    /** The tensor called {@code name}, with the file's dtype and shape, or empty when the file has none. */
    public Optional<Tensor> tensor(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The format's name of {@code name}'s dtype ({@code F32}, {@code BF16}, ...), or empty when absent. */
    public Optional<String> dtype(String name) {
        return Optional.ofNullable(entries.get(name)).map(e -> e.dtype().name());
    }

    /**
     * Copies each tensor into {@code module}'s parameter of the same name, on the parameter's device. The
     * names must be exactly the module's {@code named_parameters()} names, with equal shapes and dtypes
     * (no conversion, like PyTorch's {@code load_state_dict(strict=True)} for names and shapes), and every value
     * finite; otherwise nothing is copied.
     *
     * @throws SafeTensorsException listing, in one line, the first missing and unexpected names and the
     *     first shape and dtype differences; or naming the first tensor that holds NaN or an infinity
     */
    public void loadInto(Module module) {
        Parameters parameters = Parameters.of(module);
        List<String> missing = new ArrayList<>();
        List<String> differing = new ArrayList<>();
        for (int i = 0; i < parameters.size(); i++) {
            String name = parameters.name(i);
            Entry e = entries.get(name);
            Tensor p = parameters.get(i);
            if (e == null) {
                missing.add(name);
                continue;
            }
            long[] shape = p.sizes().vec().get();
            if (!Arrays.equals(shape, e.shape())) {
                differing.add(name + " shape " + Arrays.toString(e.shape()) + " in the file, "
                        + Arrays.toString(shape) + " in the model");
            } else if (Dtype.of(p.scalar_type()) != e.dtype()) {
                differing.add(name + " dtype " + e.dtype() + " in the file, " + Dtype.of(p.scalar_type()) + " in the model");
            }
        }
        List<String> unexpected = new ArrayList<>(entries.keySet());
        unexpected.removeAll(parameters.names());
        if (!missing.isEmpty() || !unexpected.isEmpty() || !differing.isEmpty()) {
            List<String> parts = new ArrayList<>();
            listed(parts, "missing", missing);
            listed(parts, "unexpected", unexpected);
            listed(parts, "different", differing);
            throw new SafeTensorsException(file, "does not fit the model: " + String.join("; ", parts));
        }
        for (int i = 0; i < parameters.size(); i++) {
            if (!torch.isfinite(tensors.get(parameters.name(i))).all().item_bool()) {
                throw new SafeTensorsException(file, "tensor '" + parameters.name(i) + "' holds NaN or an infinity; "
                        + "refusing to load non-finite weights");
            }
        }
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int i = 0; i < parameters.size(); i++) {
                parameters.get(i).copy_(tensors.get(parameters.name(i)));
            }
        }
    }

    private static void listed(List<String> parts, String kind, List<String> items) {
        if (items.isEmpty()) {
            return;
        }
        String shown = items.stream().limit(LISTED).collect(Collectors.joining(", "));
        parts.add(kind + " " + shown + (items.size() > LISTED ? " (and " + (items.size() - LISTED) + " more)" : ""));
    }
}
