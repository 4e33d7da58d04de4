package dev.gradguard.bench;

import dev.gradguard.clip.Clip;
import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.engine.Devices;
import dev.gradguard.engine.Torch;
import dev.gradguard.guard.NonFiniteGuard;
import dev.gradguard.metrics.MetricsJsonlWriter;
import dev.gradguard.model.CharLstm;
import dev.gradguard.model.ConvNet;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.model.TransformerClassifier;
import dev.gradguard.optim.OptimizerSpec;
import dev.gradguard.optim.Optimizers;
import dev.gradguard.optim.Schedules;
import dev.gradguard.train.LossFunction;
import dev.gradguard.train.Trainer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code gradguard bench step}: what the full guard costs in a whole training step of real models. For
 * each model, a bare loop (zero the gradients, forward, loss, backward, libtorch's Adam step: what a user
 * writes without gradguard) and the gradguard {@link Trainer} with the full guard (norm clipping, the
 * non-finite guard, {@code metrics.jsonl}) and gradguard's Adam (PyTorch's fused kernel) train copies of the
 * same model on the same fixed batch, interleaved step by step in one run, so that machine noise hits the arms
 * alike. The overhead is the ratio of the median step times, in percent. A third arm, the same trainer without
 * the update check ({@link Trainer.Builder#checkUpdate}), gives what that check (a copy of the parameters and
 * of the optimizer state before each optimizer step, and a finiteness check after it) costs within the
 * guarded step.
 *
 * <p>Both arms run on the device the options name: the models are built on the CPU from the same seed and
 * moved there, and the batch is made on the CPU and copied there once. On a GPU each timed step starts and
 * ends with {@link Devices#synchronize}, so it covers the step's kernels, not only their launches.
 */
public final class StepBenchmark {

    /**
     * @param steps timed steps per arm and model
     * @param warmup untimed steps per arm first
     * @param threads libtorch threads
     * @param models which of {@code charlm, convnet, transformer}
     * @param device where the models train (see {@link Devices#resolve})
     */
    public record Options(int steps, int warmup, int threads, List<String> models, Device device) {
        public static final List<String> MODELS = List.of("charlm", "convnet", "transformer");

        public Options {
            if (steps < 1 || warmup < 0 || threads < 1) {
                throw new IllegalArgumentException("steps must be >= 1, warmup >= 0 and threads >= 1");
            }
            for (String m : models) {
                if (!MODELS.contains(m)) {
                    throw new IllegalArgumentException("unknown benchmark model '" + m + "' (allowed: "
                            + String.join(", ", MODELS) + ")");
                }
            }
            models = List.copyOf(models);
            Objects.requireNonNull(device, "device");
        }

        /** 200 steps after 20 warm-up ones, on every core, every model, on the first usable GPU or else the CPU. */
        public static Options defaults() {
            return new Options(200, 20, Torch.defaultThreads(), MODELS, Devices.resolve("auto"));
        }
    }

    /**
     * One model's result on one device ({@code cpu}, {@code cuda:0}, ...): median step times of both arms and
     * the guard's overhead in percent.
     */
    public record Result(String device, String model, String shape, long parameters, int steps, double bareMedianMs,
            double guardedMedianMs, double overheadPercent, double pairedOverheadPercent, double uncheckedMedianMs,
            double checkPercent, double pairedCheckPercent) {

        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("device", device);
            m.put("model", model);
            m.put("shape", shape);
            m.put("parameters", parameters);
            m.put("steps", steps);
            m.put("bare_median_ms", bareMedianMs);
            m.put("guarded_median_ms", guardedMedianMs);
            m.put("overhead_percent", overheadPercent);
            m.put("paired_overhead_percent", pairedOverheadPercent);
            m.put("unchecked_median_ms", uncheckedMedianMs);
            m.put("update_check_percent", checkPercent);
            m.put("paired_update_check_percent", pairedCheckPercent);
            return m;
        }
    }

    /** A benchmark model: how to build it, its fixed batch and its loss. */
    private record Workload(String name, String shape, Supplier<Model> model, Supplier<Batch> batch, LossFunction loss) {
    }

    private StepBenchmark() {
    }

    private static Workload workload(String name) {
        return switch (name) {
            case "charlm" -> new Workload(name, "LSTM 256, vocab 96, batch 32 x 64 chars",
                    () -> new CharLstm(96, 64, 256),
                    () -> new Batch(torch.randint(96, new long[] {64, 32}), torch.randint(96, new long[] {64, 32})),
                    (out, target) -> torch.cross_entropy(out.reshape(-1, out.size(2)), target.reshape(-1)));
            case "convnet" -> new Workload(name, "CNN 32-64-128, batch 64 x 3x32x32",
                    () -> new ConvNet(10),
                    () -> new Batch(torch.randn(64, 3, 32, 32), torch.randint(10, new long[] {64})),
                    torch::cross_entropy);
            case "transformer" -> new Workload(name, "encoder 2 x 128 wide, 4 heads, batch 32 x 64 tokens",
                    () -> new TransformerClassifier(1000, 64, 128, 4, 2, 10),
                    () -> new Batch(torch.randint(1000, new long[] {64, 32}), torch.randint(10, new long[] {32})),
                    torch::cross_entropy);
            default -> throw new IllegalArgumentException("unknown benchmark model '" + name + "'");
        };
    }

    /** Runs the benchmark, printing progress and the table to {@code out}. */
    public static List<Result> run(Options options, PrintStream out) throws IOException {
        Torch.load();
        Torch.setThreads(options.threads());
        List<Result> results = new ArrayList<>();
        Path metricsDir = Files.createTempDirectory("gradguard-bench-step");
        for (String name : options.models()) {
            out.printf(Locale.ROOT, "bench step: %s ...%n", name);
            results.add(measure(workload(name), options, metricsDir.resolve(name + ".jsonl")));
        }
        out.print(table(results, options));
        return results;
    }

    private static Result measure(Workload w, Options options, Path metricsFile) throws IOException {
        Device device = options.device();
        torch.manual_seed(0);
        Batch made = w.batch().get();
        Batch batch = new Batch(made.input().to(device, made.input().scalar_type()),
                made.target().to(device, made.target().scalar_type()));
        torch.manual_seed(1);
        Model bare = w.model().get();
        bare.module().to(device, false);
        torch.manual_seed(1);
        Model guarded = w.model().get();
        guarded.module().to(device, false);
        torch.manual_seed(1);
        Model uncheckedModel = w.model().get();
        uncheckedModel.module().to(device, false);
        Optimizer bareOptimizer = Optimizers.libtorch(OptimizerSpec.adam(1e-4), Parameters.of(bare.module()));

        try (MetricsJsonlWriter metrics = new MetricsJsonlWriter(metricsFile);
                MetricsJsonlWriter uncheckedMetrics = new MetricsJsonlWriter(
                        metricsFile.resolveSibling("unchecked-" + metricsFile.getFileName()));
                Trainer trainer = guardedTrainer(guarded, batch, w, metrics, device, true);
                Trainer unchecked = guardedTrainer(uncheckedModel, batch, w, uncheckedMetrics, device, false)) {
            Runnable bareStep = () -> bareStep(bare, bareOptimizer, batch, w.loss());
            List<Runnable> arms = List.of(bareStep, trainer::step, unchecked::step);
            for (int i = 0; i < options.warmup(); i++) {
                arms.forEach(Runnable::run);
            }
            double[][] ms = new double[arms.size()][options.steps()];
            for (int i = 0; i < options.steps(); i++) {
                // rotate which arm goes first, so that none always runs on a warmer cache
                for (int k = 0; k < arms.size(); k++) {
                    int arm = (i + k) % arms.size();
                    ms[arm][i] = time(device, arms.get(arm));
                }
            }
            double bareMedian = Stats.median(ms[0]);
            double guardedMedian = Stats.median(ms[1]);
            double uncheckedMedian = Stats.median(ms[2]);
            return new Result(Devices.name(device), w.name(), w.shape(), Parameters.of(bare.module()).numel(),
                    options.steps(), bareMedian, guardedMedian, 100 * (guardedMedian / bareMedian - 1),
                    100 * (pairedRatio(ms[1], ms[0]) - 1), uncheckedMedian,
                    100 * (guardedMedian / uncheckedMedian - 1), 100 * (pairedRatio(ms[1], ms[2]) - 1));
        }
    }

    /** The median of the step-by-step ratios {@code a[i] / b[i]}. */
    private static double pairedRatio(double[] a, double[] b) {
        double[] ratios = new double[a.length];
        for (int i = 0; i < ratios.length; i++) {
            ratios[i] = a[i] / b[i];
        }
        return Stats.median(ratios);
    }

    /** The gradguard trainer with the full guard, with or without the update check. */
    private static Trainer guardedTrainer(Model model, Batch batch, Workload w, MetricsJsonlWriter metrics, Device device,
            boolean checkUpdate) {
        return Trainer.builder()
                .model(model)
                .data(BatchSource.repeating(batch))
                .loss(w.loss())
                .optimizer(Optimizers.create(OptimizerSpec.defaults("adam", 1e-4), Parameters.of(model.module())))
                .schedule(Schedules.constant(1e-4))
                .pipeline(Clip.chain(Clip.norm(1.0)))
                .guard(new NonFiniteGuard(NonFiniteGuard.DEFAULT_MAX_CONSECUTIVE))
                .listener(metrics)
                .device(device)
                .checkUpdate(checkUpdate)
                .build();
    }

    /** The loop a user writes without gradguard. */
    private static void bareStep(Model model, Optimizer optimizer, Batch batch, LossFunction loss) {
        try (PointerScope scope = new PointerScope()) {
            model.module().zero_grad(true);
            loss.loss(model.forward(batch.input()), batch.target()).backward();
            optimizer.step();
        }
    }

    /** One step's milliseconds, with the device's queued work finished before and after. */
    private static double time(Device device, Runnable step) {
        Devices.synchronize(device);
        long start = System.nanoTime();
        step.run();
        Devices.synchronize(device);
        return (System.nanoTime() - start) / 1e6;
    }

    /** The results as a Markdown table. */
    public static String table(List<Result> results, Options options) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT,
                "%nFull guard vs bare loop on %s, %d interleaved steps per arm, %d thread(s), medians; update check:"
                        + " the guarded step against the same step without it%n%n",
                Devices.name(options.device()), options.steps(), options.threads()));
        s.append("| model | shape | parameters | bare ms | guarded ms | overhead | paired overhead"
                + " | unchecked ms | update check | paired update check |\n");
        s.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Result r : results) {
            s.append(String.format(Locale.ROOT, "| %s | %s | %,d | %.2f | %.2f | %+.2f%% | %+.2f%% | %.2f | %+.2f%% | %+.2f%% |%n",
                    r.model(), r.shape(), r.parameters(), r.bareMedianMs(), r.guardedMedianMs(), r.overheadPercent(),
                    r.pairedOverheadPercent(), r.uncheckedMedianMs(), r.checkPercent(), r.pairedCheckPercent()));
        }
        return s.toString();
    }
}
