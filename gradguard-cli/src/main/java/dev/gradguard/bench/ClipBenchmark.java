package dev.gradguard.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.gradguard.clip.ClipGrad;
import dev.gradguard.clip.GradBuffer;
import dev.gradguard.engine.Devices;
import dev.gradguard.engine.Torch;
import dev.gradguard.metrics.Json;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.LongArrayRefOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Times global-norm clipping ({@code p = 2}) of model-shaped float32 gradients, side by side in one run:
 * {@link GradBuffer#clipNorm}, {@link ClipGrad#clipGradNorm} over the parameter list, libtorch's C++
 * {@code clip_grad_norm_}, and two memory floors over the same bytes (one streaming read, {@code sum}; one
 * read and write, {@code mul_(1)}).
 *
 * <p>Every method clips the same gradients: the parameters' gradients are bound to a {@link GradBuffer},
 * so the list methods see contiguous views of one buffer (libtorch treats them as separate tensors;
 * {@link ClipGrad} computes each tensor's norm with libtorch's per-tensor values, taking runs of equal-size views as
 * the rows of one matrix, and scales views that tile one range as two pieces of that range).
 * Each case runs in rounds;
 * each round times every method once, in an order rotated from round to round, and the table reports the
 * median over the rounds after the warm-up ones.
 *
 * <p>Two cases per gradient set, with maxNorm a tenth of and ten times the float64 norm. Clipping scales
 * the gradients to norm maxNorm, after which they would no longer need clipping, so in the clipping case
 * the gradients are restored from a saved copy before every timed call (outside the timed region); in the
 * other case nothing changes them (multiplying by exactly 1 is the identity), so they are not restored.
 * The floors are timed after the same restore, so every method starts from the same cache state.
 *
 * <p>The gradients live on the device the options name. On a GPU, where kernels run asynchronously, the
 * device is synchronized before the clock starts and before it stops ({@link Devices#synchronize}), so each
 * time covers the method's work and nothing queued before it.
 *
 * <p>Accuracy: each method's returned norm against the float64 norm of the same gradients.
 */
public final class ClipBenchmark {
    private static final double NORM_TYPE = 2.0;
    private static final double GRADIENT_SCALE = 1e-3;
    private static final long SEED = 20250101L;

    private ClipBenchmark() {
    }

    /** Gradient shapes benchmarked. */
    public enum GradientSet {
        /** torchvision's ResNet-50: 161 tensors, 25,557,032 floats. */
        RESNET50("resnet50"),
        /** A 12-layer BERT-base encoder with embeddings and pooler: 199 tensors, 109,482,240 floats. */
        BERT_BASE("bert-base"),
        /** 1,000 tensors of 256 floats: per-call overhead dominates. */
        SMALL_1000("small-1000");

        private final String id;

        GradientSet(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        /**
         * The set named {@code id}.
         *
         * @throws IllegalArgumentException naming the allowed ids
         */
        public static GradientSet fromId(String id) {
            for (GradientSet s : values()) {
                if (s.id.equals(id)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown gradient set '" + id + "'; allowed: "
                    + Arrays.stream(values()).map(GradientSet::id).collect(Collectors.joining(", ")));
        }

        /** The parameter shapes, in {@code named_parameters()} order. */
        public List<long[]> shapes() {
            return switch (this) {
                case RESNET50 -> resnet50();
                case BERT_BASE -> bertBase();
                case SMALL_1000 -> repeat(1000, new long[] {256});
            };
        }
    }

    /** A timed method. */
    public enum Method {
        GRAD_BUFFER("GradBuffer"),
        CLIP_GRAD("ClipGrad"),
        LIBTORCH("libtorch"),
        FLOOR_READ("read"),
        FLOOR_READ_WRITE("read+write");

        private final String label;

        Method(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        /** Whether the method returns a norm (the floors do not). */
        public boolean clips() {
            return this == GRAD_BUFFER || this == CLIP_GRAD || this == LIBTORCH;
        }
    }

    /**
     * @param repeats timed rounds per case, at least 1
     * @param warmup untimed rounds before them, at least 0
     * @param threads libtorch intra-op threads, at least 1
     * @param sets the gradient sets, at least one
     * @param device where the gradients live (see {@link Devices#resolve})
     */
    public record Options(int repeats, int warmup, int threads, List<GradientSet> sets, Device device) {
        public static final int DEFAULT_REPEATS = 50;
        public static final int DEFAULT_WARMUP = 3;

        public Options {
            if (repeats < 1) {
                throw new IllegalArgumentException("repeats must be at least 1, got " + repeats);
            }
            if (warmup < 0) {
                throw new IllegalArgumentException("warmup must be at least 0, got " + warmup);
            }
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be at least 1, got " + threads);
            }
            if (sets == null || sets.isEmpty()) {
                throw new IllegalArgumentException("sets must name at least one of: "
                        + Arrays.stream(GradientSet.values()).map(GradientSet::id).collect(Collectors.joining(", ")));
            }
            sets = List.copyOf(sets);
            Objects.requireNonNull(device, "device");
        }

        /**
         * 50 rounds after 3 warm-up ones, on every core, over every set, on the first GPU when CUDA is usable
         * and else the CPU: about 1 minute on 2 idle cores.
         */
        public static Options defaults() {
            return new Options(DEFAULT_REPEATS, DEFAULT_WARMUP, Torch.defaultThreads(), List.of(GradientSet.values()),
                    Devices.resolve("auto"));
        }
    }

    /**
     * One gradient set in one case.
     *
     * @param device where the gradients lived, as libtorch names it (e.g. {@code cpu}, {@code cuda:0})
     * @param set the gradient set's id
     * @param tensors the number of gradient tensors
     * @param elements the number of float32 gradient elements
     * @param clipping whether maxNorm was below the norm (the gradients are scaled) or far above it
     * @param maxNorm the threshold used
     * @param referenceNorm the float64 norm of the gradients
     * @param medianMs each method's median time in milliseconds
     * @param relativeError each clipping method's {@code |norm - referenceNorm| / referenceNorm}
     */
    public record Result(String device, String set, int tensors, long elements, boolean clipping, double maxNorm,
            double referenceNorm, Map<Method, Double> medianMs, Map<Method, Double> relativeError) {
        public Result {
            medianMs = Map.copyOf(medianMs);
            relativeError = Map.copyOf(relativeError);
        }

        public double ms(Method m) {
            return medianMs.get(m);
        }

        /** GradBuffer's time over one streaming read of the same bytes. */
        public double gradBufferOverRead() {
            return ms(Method.GRAD_BUFFER) / ms(Method.FLOOR_READ);
        }

        /** GradBuffer's time over one read and write of the same bytes. */
        public double gradBufferOverReadWrite() {
            return ms(Method.GRAD_BUFFER) / ms(Method.FLOOR_READ_WRITE);
        }

        /**
         * GradBuffer's time over the least memory traffic the case needs: one read when nothing is scaled;
         * a read (the norm) then a read and write (the scaling) when it is, since the scale depends on the
         * whole norm.
         */
        public double gradBufferOverFloor() {
            double floor = ms(Method.FLOOR_READ) + (clipping ? ms(Method.FLOOR_READ_WRITE) : 0);
            return ms(Method.GRAD_BUFFER) / floor;
        }

        public double libtorchOverGradBuffer() {
            return ms(Method.LIBTORCH) / ms(Method.GRAD_BUFFER);
        }

        public double libtorchOverClipGrad() {
            return ms(Method.LIBTORCH) / ms(Method.CLIP_GRAD);
        }

        /** The result as JSON-ready maps (non-finite numbers as strings, see {@link Json#number}). */
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("device", device);
            m.put("set", set);
            m.put("tensors", tensors);
            m.put("elements", elements);
            m.put("case", clipping ? "clip" : "no-clip");
            m.put("max_norm", Json.number(maxNorm));
            m.put("reference_norm", Json.number(referenceNorm));
            Map<String, Object> times = new LinkedHashMap<>();
            Map<String, Object> errors = new LinkedHashMap<>();
            for (Method method : Method.values()) {
                times.put(method.label(), Json.number(ms(method)));
                if (method.clips()) {
                    errors.put(method.label(), Json.number(relativeError.get(method)));
                }
            }
            m.put("median_ms", times);
            m.put("norm_relative_error", errors);
            Map<String, Object> ratios = new LinkedHashMap<>();
            ratios.put("gradbuffer_over_read", Json.number(gradBufferOverRead()));
            ratios.put("gradbuffer_over_read_write", Json.number(gradBufferOverReadWrite()));
            ratios.put("gradbuffer_over_floor", Json.number(gradBufferOverFloor()));
            ratios.put("libtorch_over_gradbuffer", Json.number(libtorchOverGradBuffer()));
            ratios.put("libtorch_over_clipgrad", Json.number(libtorchOverClipGrad()));
            m.put("ratios", ratios);
            return m;
        }
    }

    /**
     * Runs the benchmark on {@code options.device()}. Sets libtorch's thread count to {@code options.threads()}
     * for the rest of the process.
     *
     * @param progress where a line per gradient set and the finished table go
     * @return one result per set and case, in order
     */
    public static List<Result> run(Options options, PrintStream progress) {
        Torch.setThreads(options.threads());
        progress.printf(Locale.ROOT, "clip benchmark: libtorch %s on %s, %d threads, %d rounds (+%d warm-up), p = 2, "
                + "JavaCPP maxPhysicalBytes %d%n", Torch.version(), Devices.name(options.device()), Torch.threads(),
                options.repeats(), options.warmup(), Pointer.maxPhysicalBytes());
        List<Result> results = new ArrayList<>();
        for (GradientSet set : options.sets()) {
            results.addAll(runSet(set, options, progress));
            // the set's buffers (hundreds of MB) are freed with their Java objects: collect before the next
            System.gc();
        }
        progress.print(table(results, options));
        return results;
    }

    @SuppressWarnings("try") // the scope frees the set's tensors when the set is done
    private static List<Result> runSet(GradientSet set, Options options, PrintStream progress) {
        try (PointerScope scope = new PointerScope()) {
            Bench bench = new Bench(set, options.device());
            progress.printf(Locale.ROOT, "%s: %d tensors, %,d floats, float64 norm %.6g%n", set.id(),
                    bench.params.size(), bench.elements, bench.referenceNorm);
            List<Result> results = new ArrayList<>();
            for (boolean clipping : new boolean[] {true, false}) {
                results.add(bench.measure(clipping, options));
            }
            return results;
        }
    }

    /** The gradients of one set on one device, bound to a GradBuffer, with a saved copy and their float64 norm. */
    private static final class Bench {
        final GradientSet set;
        final Device device;
        final List<Tensor> params = new ArrayList<>();
        final TensorVector paramVector;
        final GradBuffer buffer;
        final Tensor values;
        final Tensor saved;
        final long elements;
        final double referenceNorm;
        final Scalar one = new Scalar(1.0);

        Bench(GradientSet set, Device device) {
            this.set = set;
            this.device = device;
            TensorOptions onDevice = new TensorOptions(device);
            for (long[] shape : set.shapes()) {
                // never written: the methods only read the gradients, so the weights need no memory pages
                params.add(torch.empty(shape, onDevice, new MemoryFormatOptional()).requires_grad_(true));
            }
            paramVector = new TensorVector(params.toArray(new Tensor[0]));
            buffer = GradBuffer.bind(params);
            values = buffer.flatTensors().get(0);
            torch.manual_seed(SEED);
            values.normal_(0, GRADIENT_SCALE, new GeneratorOptional());
            saved = values.clone();
            elements = values.numel();
            referenceNorm = torch.linalg_vector_norm(values, new Scalar(NORM_TYPE), new LongArrayRefOptional(), false,
                    new ScalarTypeOptional(torch.ScalarType.Double)).item_double();
        }

        Result measure(boolean clipping, Options options) {
            double maxNorm = clipping ? referenceNorm / 10 : referenceNorm * 10;
            Method[] methods = Method.values();
            Map<Method, double[]> times = new EnumMap<>(Method.class);
            Map<Method, Double> norms = new EnumMap<>(Method.class);
            for (Method m : methods) {
                times.put(m, new double[options.repeats()]);
            }
            for (int round = 0; round < options.warmup() + options.repeats(); round++) {
                for (int i = 0; i < methods.length; i++) {
                    Method m = methods[(i + round) % methods.length];
                    if (clipping) {
                        values.copy_(saved);
                    }
                    try (PointerScope call = new PointerScope()) {
                        Devices.synchronize(device); // the restore above is not part of the time
                        long start = System.nanoTime();
                        double norm = invoke(m, maxNorm);
                        Devices.synchronize(device);
                        long elapsed = System.nanoTime() - start;
                        if (round >= options.warmup()) {
                            times.get(m)[round - options.warmup()] = elapsed / 1e6;
                        }
                        if (m.clips()) {
                            norms.put(m, norm);
                        }
                    }
                }
            }
            if (clipping) {
                values.copy_(saved);
            }
            Map<Method, Double> medians = new EnumMap<>(Method.class);
            Map<Method, Double> errors = new EnumMap<>(Method.class);
            for (Method m : methods) {
                medians.put(m, Stats.median(times.get(m)));
                if (m.clips()) {
                    errors.put(m, Math.abs(norms.get(m) - referenceNorm) / referenceNorm);
                }
            }
            return new Result(Devices.name(device), set.id(), params.size(), elements, clipping, maxNorm, referenceNorm,
                    medians, errors);
        }

        /** Runs one method; returns the norm it computed, or NaN for the floors. */
        private double invoke(Method m, double maxNorm) {
            return switch (m) {
                case GRAD_BUFFER -> buffer.clipNorm(maxNorm, NORM_TYPE).item_double();
                case CLIP_GRAD -> ClipGrad.clipGradNorm(params, maxNorm, NORM_TYPE, false).item_double();
                case LIBTORCH -> torch.clip_grad_norm_(paramVector, maxNorm, NORM_TYPE, false);
                case FLOOR_READ -> {
                    values.sum();
                    yield Double.NaN;
                }
                case FLOOR_READ_WRITE -> {
                    values.mul_(one);
                    yield Double.NaN;
                }
            };
        }
    }

    /** The results as the table {@code gradguard bench clip} prints, under a line naming the device and settings. */
    public static String table(List<Result> results, Options options) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Clipping on %s, %d thread(s), medians of %d rounds after %d warm-up%n",
                Devices.name(options.device()), options.threads(), options.repeats(), options.warmup()));
        out.append(String.format(Locale.ROOT,
                "%-11s %-7s %7s | %9s %9s %9s %9s %9s | %7s %7s %7s %9s %9s | %8s %8s %8s%n",
                "set", "case", "tensors", "GradBuf", "ClipGrad", "libtorch", "read", "read+wr",
                "GB/read", "GB/r+w", "GB/floor", "lib/GB", "lib/CG", "errGB", "errCG", "errLib"));
        out.append(String.format(Locale.ROOT, "%-11s %-7s %7s | %49s | %43s | %26s%n",
                "", "", "", "median ms", "ratios", "norm rel. error vs float64"));
        for (Result r : results) {
            out.append(String.format(Locale.ROOT,
                    "%-11s %-7s %7d | %9.3f %9.3f %9.3f %9.3f %9.3f | %7.2f %7.2f %7.2f %9.2f %9.2f"
                            + " | %8.1e %8.1e %8.1e%n",
                    r.set(), r.clipping() ? "clip" : "no-clip", r.tensors(), r.ms(Method.GRAD_BUFFER),
                    r.ms(Method.CLIP_GRAD), r.ms(Method.LIBTORCH), r.ms(Method.FLOOR_READ),
                    r.ms(Method.FLOOR_READ_WRITE), r.gradBufferOverRead(), r.gradBufferOverReadWrite(),
                    r.gradBufferOverFloor(), r.libtorchOverGradBuffer(), r.libtorchOverClipGrad(),
                    r.relativeError().get(Method.GRAD_BUFFER), r.relativeError().get(Method.CLIP_GRAD),
                    r.relativeError().get(Method.LIBTORCH)));
        }
        return out.toString();
    }

    /** The results as a pretty-printed JSON array of {@link Result#toMap()}. */
    public static String toJson(List<Result> results) {
        try {
            return Json.pretty().writeValueAsString(results.stream().map(Result::toMap).toList());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("maps of strings and numbers always serialize", e);
        }
    }

    private static List<long[]> repeat(int n, long[] shape) {
        List<long[]> shapes = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            shapes.add(shape.clone());
        }
        return shapes;
    }

    /** torchvision's resnet50(): bottleneck blocks [3, 4, 6, 3], expansion 4, a downsample per stage. */
    private static List<long[]> resnet50() {
        List<long[]> s = new ArrayList<>();
        convWithNorm(s, 64, 3, 7);
        long in = 64;
        int[] blocks = {3, 4, 6, 3};
        long[] widths = {64, 128, 256, 512};
        for (int stage = 0; stage < blocks.length; stage++) {
            long width = widths[stage];
            long out = width * 4;
            for (int block = 0; block < blocks[stage]; block++) {
                convWithNorm(s, width, block == 0 ? in : out, 1);
                convWithNorm(s, width, width, 3);
                convWithNorm(s, out, width, 1);
                if (block == 0) {
                    convWithNorm(s, out, in, 1); // downsample
                }
            }
            in = out;
        }
        s.add(new long[] {1000, 2048});
        s.add(new long[] {1000});
        return s;
    }

    /** A bias-free convolution's weight, then its BatchNorm's weight and bias. */
    private static void convWithNorm(List<long[]> s, long out, long in, long kernel) {
        s.add(new long[] {out, in, kernel, kernel});
        s.add(new long[] {out});
        s.add(new long[] {out});
    }

    /** HuggingFace's BertModel (bert-base-uncased): embeddings, 12 encoder layers, pooler. */
    private static List<long[]> bertBase() {
        long hidden = 768;
        long ffn = 3072;
        List<long[]> s = new ArrayList<>();
        s.add(new long[] {30522, hidden}); // word embeddings
        s.add(new long[] {512, hidden}); // positions
        s.add(new long[] {2, hidden}); // token types
        layerNorm(s, hidden);
        for (int layer = 0; layer < 12; layer++) {
            for (int projection = 0; projection < 4; projection++) { // query, key, value, attention output
                linear(s, hidden, hidden);
                if (projection == 3) {
                    layerNorm(s, hidden);
                }
            }
            linear(s, ffn, hidden);
            linear(s, hidden, ffn);
            layerNorm(s, hidden);
        }
        linear(s, hidden, hidden); // pooler
        return s;
    }

    private static void linear(List<long[]> s, long out, long in) {
        s.add(new long[] {out, in});
        s.add(new long[] {out});
    }

    private static void layerNorm(List<long[]> s, long width) {
        s.add(new long[] {width});
        s.add(new long[] {width});
    }
}
