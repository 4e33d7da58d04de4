package dev.gradguard.checkpoint;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;

/**
 * What a model's archive must fit: every parameter's and buffer's name, dtype and shape, in
 * {@code named_parameters()} then {@code named_buffers()} order.
 *
 * <p>It is checked before anything is loaded because libtorch does not check it: {@code Module.load}
 * replaces each tensor with the stored one ({@code Tensor::set_}), so an archive from a model with other
 * shapes loads without an error and silently reshapes the parameters, and an optimizer's archive loads
 * into an optimizer over other shapes just as silently (both seen here with 2.10.0).
 *
 * @param entries the tensors, parameters first
 */
public record ModelFingerprint(List<Entry> entries) {

    /**
     * One named tensor.
     *
     * @param kind {@code "parameter"} or {@code "buffer"}
     * @param name the name {@code named_parameters()} or {@code named_buffers()} gives it
     * @param dtype libtorch's scalar type, e.g. {@code Float}
     * @param shape the sizes
     */
    public record Entry(String kind, String name, String dtype, List<Long> shape) {
        public Entry {
            shape = List.copyOf(shape);
        }

        boolean isParameter() {
            return kind.equals("parameter");
        }

        String describe() {
            return dtype + shape;
        }
    }

    public ModelFingerprint {
        entries = List.copyOf(entries);
    }

    /** The fingerprint of a module's parameters and buffers. */
    public static ModelFingerprint of(Module module) {
        List<Entry> entries = new ArrayList<>();
        try (PointerScope scope = new PointerScope()) {
            add(entries, "parameter", module.named_parameters(true));
            add(entries, "buffer", module.named_buffers(true));
        }
        return new ModelFingerprint(entries);
    }

    private static void add(List<Entry> entries, String kind, StringTensorDict dict) {
        for (long i = 0; i < dict.size(); i++) {
            Tensor t = dict.get(i).value();
            List<Long> shape = Arrays.stream(t.sizes().vec().get()).boxed().toList();
            entries.add(new Entry(kind, dict.get(i).key().getString(), t.scalar_type().toString(), shape));
        }
    }

    /** The parameters only, in order: what an optimizer over the model holds. */
    public List<Entry> parameters() {
        return entries.stream().filter(Entry::isParameter).toList();
    }

    /**
     * The first difference between this fingerprint (a checkpoint's) and {@code model}'s, in one line, or
     * empty when a model with fingerprint {@code model} can load the checkpoint's archive.
     */
    public Optional<String> firstMismatch(ModelFingerprint model) {
        Map<String, Entry> here = byName(model);
        for (Entry saved : entries) {
            Entry mine = here.get(saved.kind() + " " + saved.name());
            if (mine == null) {
                return Optional.of(saved.kind() + " " + saved.name() + " is in the checkpoint but not in this model");
            }
            if (!mine.describe().equals(saved.describe())) {
                return Optional.of(saved.kind() + " " + saved.name() + " is " + saved.describe()
                        + " in the checkpoint but " + mine.describe() + " in this model");
            }
        }
        Map<String, Entry> saved = byName(this);
        for (Entry mine : model.entries) {
            if (!saved.containsKey(mine.kind() + " " + mine.name())) {
                return Optional.of(mine.kind() + " " + mine.name() + " of this model is not in the checkpoint");
            }
        }
        return Optional.empty();
    }

    private static Map<String, Entry> byName(ModelFingerprint f) {
        Map<String, Entry> map = new LinkedHashMap<>();
        for (Entry e : f.entries) {
            map.put(e.kind() + " " + e.name(), e);
        }
        return map;
    }

    /** The fingerprint as a JSON-compatible list. */
    List<Map<String, Object>> toJson() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Entry e : entries) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kind", e.kind());
            m.put("name", e.name());
            m.put("dtype", e.dtype());
            m.put("shape", e.shape());
            out.add(m);
        }
        return out;
    }

    /**
     * Reads what {@link #toJson()} wrote.
     *
     * @throws IllegalArgumentException when an element is not such an entry
     */
    static ModelFingerprint fromJson(Object json) {
        if (!(json instanceof List<?> list)) {
            throw new IllegalArgumentException("the fingerprint is not a list");
        }
        List<Entry> entries = new ArrayList<>();
        for (Object o : list) {
            if (!(o instanceof Map<?, ?> m && m.get("kind") instanceof String kind && m.get("name") instanceof String name
                    && m.get("dtype") instanceof String dtype && m.get("shape") instanceof List<?> shape
                    && shape.stream().allMatch(Number.class::isInstance))) {
                throw new IllegalArgumentException("fingerprint entry " + entries.size() + " is malformed: " + o);
            }
            entries.add(new Entry(kind, name, dtype, shape.stream().map(n -> ((Number) n).longValue()).toList()));
        }
        return new ModelFingerprint(entries);
    }
}
