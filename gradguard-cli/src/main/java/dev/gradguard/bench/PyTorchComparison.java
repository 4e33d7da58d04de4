package dev.gradguard.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.clip.Clip;
import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.engine.Torch;
import dev.gradguard.guard.NonFiniteGuard;
import dev.gradguard.metrics.Json;
import dev.gradguard.metrics.MetricsJsonlWriter;
import dev.gradguard.model.CharLstm;
import dev.gradguard.model.CharTransformer;
import dev.gradguard.model.ConvNet;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.model.RecurrentNet;
import dev.gradguard.optim.OptimizerSpec;
import dev.gradguard.optim.Optimizers;
import dev.gradguard.optim.Schedules;
import dev.gradguard.train.LossFunction;
import dev.gradguard.train.Trainer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.EmbeddingImpl;
import org.bytedeco.pytorch.LSTMImpl;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.LSTMOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * {@code gradguard bench step --vs-pytorch}: gradguard's full guarded step against the bare loop a Python user
 * writes in PyTorch eager ({@code scripts/step_bench.py}: zero_grad, forward, loss, backward,
 * {@code clip_grad_norm_} with the norm read back, step), same models, shapes, optimizer and threads, on the CPU.
 *
 * <p>The two arms run in two processes that never run at once: blocks of steps alternate between them
 * (gradguard first in even rounds, PyTorch first in odd ones), so load on the machine hits both alike. The
 * result is the ratio of the per-step medians, gradguard / PyTorch, in wall-clock time and in the CPU time of the
 * thread that runs the step (both arms measure it alike: {@code ThreadMXBean} and Python's {@code time.thread_time}).
 * At one intra-op thread that is all of a step's computing, and it is what to compare on a machine that other
 * jobs load; at more threads the other threads' share is not in it. The {@code gemm}, {@code lstm},
 * {@code lstm-native}, {@code embedding} and {@code head} workloads are micro-benchmarks of the char-LSTM's
 * parts, run the same way, that say where its time goes. The {@code transformer} is charlm's
 * {@code --model transformer} ({@link CharTransformer}) with the task's defaults, AdamW included. Both arms
 * report their parameter count, and a workload whose counts differ is refused: the models must be the same.
 * The PyTorch arm runs with glibc's allocator defaults, as {@code python} runs for a user: the settings
 * {@code bin/gradguard} gives gradguard's JVM ({@link #GLIBC_ALLOCATOR_SETTINGS}) are removed from its
 * environment.
 */
public final class PyTorchComparison {
    /** The workloads: whole training steps, then the micro-benchmarks. */
    public static final List<String> WORKLOADS = List.of("default", "charlm", "transformer", "convnet", "convnet-cl",
            "gemm", "lstm",
            "lstm-native", "embedding", "head");

    /**
     * @param steps timed steps per arm and workload
     * @param warmup untimed steps per arm first
     * @param rounds blocks per arm; the steps are split evenly between them
     * @param threads intra-op threads of both arms
     * @param workloads which of {@link #WORKLOADS}
     * @param python the Python with PyTorch that runs {@code script}
     * @param script {@code scripts/step_bench.py}
     */
    public record Options(int steps, int warmup, int rounds, int threads, List<String> workloads, Path python,
            Path script) {
        public Options {
            if (steps < 1 || warmup < 0 || threads < 1) {
                throw new IllegalArgumentException("steps must be >= 1, warmup >= 0 and threads >= 1");
            }
            if (rounds < 1 || rounds > steps) {
                throw new IllegalArgumentException("--rounds must be in [1, steps] (each round times at least one "
                        + "step per arm), got " + rounds + " with --steps " + steps);
            }
            for (String w : workloads) {
                if (!WORKLOADS.contains(w)) {
                    throw new IllegalArgumentException("unknown workload '" + w + "' for --vs-pytorch (allowed: "
                            + String.join(", ", WORKLOADS) + ")");
                }
            }
            workloads = List.copyOf(workloads);
        }
    }

    /**
     * One workload: both arms' median step times and their ratio, in wall-clock time and in the CPU time of the
     * thread that runs the step (which is all of the step's computing at one intra-op thread, and which a machine
     * loaded by other jobs does not inflate as it does the wall-clock time).
     */
    public record Result(String workload, String shape, long parameters, int steps, double gradguardMedianMs,
            double pytorchMedianMs, double gradguardCpuMedianMs, double pytorchCpuMedianMs) {
        /** gradguard's median over PyTorch's: below 1 when gradguard is faster. */
        public double ratio() {
            return gradguardMedianMs / pytorchMedianMs;
        }

        /** {@link #ratio()} in the stepping thread's CPU time. */
        public double cpuRatio() {
            return gradguardCpuMedianMs / pytorchCpuMedianMs;
        }

        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("workload", workload);
            m.put("shape", shape);
            m.put("parameters", parameters);
            m.put("steps", steps);
            m.put("gradguard_median_ms", gradguardMedianMs);
            m.put("pytorch_median_ms", pytorchMedianMs);
            m.put("ratio", ratio());
            m.put("gradguard_cpu_median_ms", gradguardCpuMedianMs);
            m.put("pytorch_cpu_median_ms", pytorchCpuMedianMs);
            m.put("cpu_ratio", cpuRatio());
            return m;
        }
    }

    /** The allocator settings {@code bin/gradguard} gives gradguard's JVM, which the PyTorch arm runs without. */
    static final List<String> GLIBC_ALLOCATOR_SETTINGS = List.of("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_",
            "MALLOC_TRIM_THRESHOLD_");

    /** gradguard's arm of a workload: what one timed step runs, and the parameters it trains. */
    private record Arm(String shape, long parameters, Runnable step) {
    }

    private PyTorchComparison() {
    }

    /**
     * The script next to this installation: {@code scripts/step_bench.py} in the first directory above the
     * class's jar (or classes directory) that has it.
     *
     * @throws IllegalArgumentException when no such directory exists
     */
    public static Path locateScript() {
        try {
            Path at = Path.of(PyTorchComparison.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path dir = at; dir != null; dir = dir.getParent()) {
                Path script = dir.resolve("scripts").resolve("step_bench.py");
                if (Files.isRegularFile(script)) {
                    return script;
                }
            }
            throw new IllegalArgumentException("--vs-pytorch needs scripts/step_bench.py, which is not in a directory "
                    + "above " + at + "; run gradguard from its source tree (bin/gradguard)");
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException("the class's location is not a path", e);
        }
    }

    /** Runs every workload, printing progress and then the table to {@code out}. */
    public static List<Result> run(Options options, PrintStream out) throws IOException {
        Torch.load();
        Torch.setThreads(options.threads());
        Torch.setFlushDenormal(true);
        Path metricsDir = Files.createTempDirectory("gradguard-bench-vs-pytorch");
        List<Result> results = new ArrayList<>();
        String pytorch = "";
        for (String workload : options.workloads()) {
            out.printf(Locale.ROOT, "bench step --vs-pytorch: %s ...%n", workload);
            try (MetricsJsonlWriter metrics = new MetricsJsonlWriter(metricsDir.resolve(workload + ".jsonl"));
                    PythonArm python = PythonArm.start(options, workload)) {
                pytorch = python.version;
                torch.manual_seed(0);
                results.add(measure(workload, arm(workload, metrics), python, options));
            }
        }
        out.print(table(results, options, pytorch));
        return results;
    }

    private static Result measure(String workload, Arm gradguard, PythonArm python, Options options)
            throws IOException {
        if (python.parameters != gradguard.parameters()) {
            throw new IllegalStateException(workload + ": scripts/step_bench.py builds " + python.parameters
                    + " parameters, gradguard " + gradguard.parameters() + ": the two arms' models differ");
        }
        for (int i = 0; i < options.warmup(); i++) {
            gradguard.step().run();
        }
        python.run(options.warmup(), new Times());
        Times ours = new Times();
        Times theirs = new Times();
        for (int round = 0; round < options.rounds(); round++) {
            int block = options.steps() / options.rounds() + (round < options.steps() % options.rounds() ? 1 : 0);
            if (round % 2 == 0) {
                time(gradguard.step(), block, ours);
                python.run(block, theirs);
            } else {
                python.run(block, theirs);
                time(gradguard.step(), block, ours);
            }
        }
        return new Result(workload, gradguard.shape(), gradguard.parameters(), options.steps(), median(ours.wallMs),
                median(theirs.wallMs), median(ours.cpuMs), median(theirs.cpuMs));
    }

    /** Per-step milliseconds of one arm: wall-clock, and CPU time of the thread that ran the step. */
    private static final class Times {
        final List<Double> wallMs = new ArrayList<>();
        final List<Double> cpuMs = new ArrayList<>();
    }

    private static void time(Runnable step, int count, Times times) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        for (int i = 0; i < count; i++) {
            long start = System.nanoTime();
            long cpuStart = threads.getCurrentThreadCpuTime();
            step.run();
            times.cpuMs.add((threads.getCurrentThreadCpuTime() - cpuStart) / 1e6);
            times.wallMs.add((System.nanoTime() - start) / 1e6);
        }
    }

    private static double median(List<Double> samples) {
        return Stats.median(samples.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** gradguard's arm of {@code workload}, with the shapes, optimizer and data of the script's. */
    private static Arm arm(String workload, MetricsJsonlWriter metrics) {
        return switch (workload) {
            case "default" -> guarded("GRU 32, temporal order T=100, batch 64, SGD",
                    () -> new RecurrentNet(RecurrentNet.Cell.GRU, 6, 32, 4),
                    new Batch(torch.randn(100, 64, 6), torch.randint(4, new long[] {64})), sgd(1.75),
                    torch::cross_entropy, metrics);
            case "charlm" -> guarded("Embedding 32, LSTM 128, vocab 96, batch 64 x 64 chars, SGD",
                    () -> new CharLstm(96, 32, 128),
                    new Batch(torch.randint(96, new long[] {64, 64}), torch.randint(96, new long[] {64, 64})), sgd(1.0),
                    PyTorchComparison::tokenCrossEntropy, metrics);
            // charlm's --model transformer with the task's defaults: width 64, 2 blocks of 4 heads, windows of 64,
            // batch 32, AdamW at 3e-3 (Tasks.trainingDefaults); a vocabulary of 96 like the LSTM's
            case "transformer" -> guarded("GPT 2 x 64 wide, 4 heads, vocab 96, batch 32 x 64 chars, AdamW",
                    () -> new CharTransformer(96, 64, 64, 2, 4),
                    new Batch(torch.randint(96, new long[] {64, 32}), torch.randint(96, new long[] {64, 32})),
                    OptimizerSpec.defaults("adamw", 3e-3), PyTorchComparison::tokenCrossEntropy, metrics);
            // convnet-cl: the same step; the script lays PyTorch's batch out channels-last, as ConvNet does its
            // activations
            case "convnet", "convnet-cl" -> guarded(workload.equals("convnet")
                    ? "CNN 32-64-128, batch 64 x 3x32x32, SGD" : "the conv net, PyTorch's batch channels-last too",
                    () -> new ConvNet(10),
                    new Batch(torch.randn(64, 3, 32, 32), torch.randint(10, new long[] {64})), sgd(0.01),
                    torch::cross_entropy, metrics);
            case "gemm" -> gemm();
            case "lstm" -> lstmOnly(false);
            case "lstm-native" -> lstmOnly(true);
            case "embedding" -> embeddingOnly();
            case "head" -> headOnly();
            default -> throw new IllegalArgumentException("unknown workload '" + workload + "'");
        };
    }

    /** SGD with momentum 0.9, as the script's {@code torch.optim.SGD(..., momentum=0.9)}. */
    private static OptimizerSpec sgd(double lr) {
        return OptimizerSpec.defaults("sgd", lr).withMomentum(0.9);
    }

    /** Cross-entropy over every step of logits {@code [time, batch, vocabulary]} against ids {@code [time, batch]}. */
    private static Tensor tokenCrossEntropy(Tensor out, Tensor target) {
        return torch.cross_entropy(out.reshape(-1, out.size(2)), target.reshape(-1));
    }

    /** The full guard: the optimizer {@code optimizer}, norm clipping at 1.0, the non-finite guard, metrics.jsonl. */
    private static Arm guarded(String shape, Supplier<Model> factory, Batch batch, OptimizerSpec optimizer,
            LossFunction loss, MetricsJsonlWriter metrics) {
        Model model = factory.get();
        Parameters parameters = Parameters.of(model.module());
        Trainer trainer = Trainer.builder()
                .model(model)
                .data(BatchSource.repeating(batch))
                .loss(loss)
                .optimizer(Optimizers.create(optimizer, parameters))
                .schedule(Schedules.constant(optimizer.lr()))
                .pipeline(Clip.chain(Clip.norm(1.0)))
                .guard(new NonFiniteGuard(NonFiniteGuard.DEFAULT_MAX_CONSECUTIVE))
                .listener(metrics)
                .build();
        return new Arm(shape, parameters.numel(), trainer::step);
    }

    private static Arm gemm() {
        var bias = torch.randn(64, 512);
        var left = torch.randn(64, 128);
        var right = torch.randn(128, 512);
        return new Arm("64 x addmm [64, 512] + [64, 128] @ [128, 512]", 0, () -> {
            try (PointerScope scope = new PointerScope()) {
                for (int i = 0; i < 64; i++) {
                    torch.addmm(bias, left, right);
                }
            }
        });
    }

    /** The charlm LSTM alone; {@code native} with oneDNN off, as gradguard's models run it. */
    private static Arm lstmOnly(boolean nativeKernels) {
        LSTMImpl lstm = new LSTMImpl(new LSTMOptions(32, 128));
        var input = torch.randn(64, 64, 32);
        Runnable forwardBackward = () -> lstm.forward(input).get0().sum().backward();
        return new Arm("LSTM 32->128 forward + backward, [64, 64, 32]" + (nativeKernels ? ", oneDNN off" : ""),
                Parameters.of(lstm).numel(), () -> {
                    try (PointerScope scope = new PointerScope()) {
                        lstm.zero_grad(true);
                        if (nativeKernels) {
                            Torch.withoutOneDnn(() -> {
                                forwardBackward.run();
                                return null;
                            });
                        } else {
                            forwardBackward.run();
                        }
                    }
                });
    }

    private static Arm embeddingOnly() {
        EmbeddingImpl embedding = new EmbeddingImpl(96, 32);
        var tokens = torch.randint(96, new long[] {64, 64});
        return new Arm("Embedding 96x32 forward + backward, [64, 64] ids", Parameters.of(embedding).numel(), () -> {
            try (PointerScope scope = new PointerScope()) {
                embedding.zero_grad(true);
                embedding.forward(tokens).sum().backward();
            }
        });
    }

    private static Arm headOnly() {
        LinearImpl head = new LinearImpl(128, 96);
        var states = torch.randn(64, 64, 128);
        var target = torch.randint(96, new long[] {64, 64});
        return new Arm("Linear 128->96 + cross-entropy forward + backward, [64, 64, 128]", Parameters.of(head).numel(),
                () -> {
                    try (PointerScope scope = new PointerScope()) {
                        head.zero_grad(true);
                        tokenCrossEntropy(head.forward(states), target).backward();
                    }
                });
    }

    /** The results as a Markdown table; {@code pytorch} is the version the script reported. */
    static String table(List<Result> results, Options options, String pytorch) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "%ngradguard's guarded step vs PyTorch %s eager's bare loop on the CPU, "
                + "%d steps per arm in %d interleaved rounds, %d thread(s), medians%n%n", pytorch,
                options.steps(), options.rounds(), options.threads()));
        s.append("| workload | shape | parameters | gradguard ms | PyTorch ms | gradguard / PyTorch "
                + "| gradguard CPU ms | PyTorch CPU ms | CPU ratio |\n");
        s.append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Result r : results) {
            s.append(String.format(Locale.ROOT, "| %s | %s | %,d | %.2f | %.2f | %.2fx | %.2f | %.2f | %.2fx |%n",
                    r.workload(), r.shape(), r.parameters(), r.gradguardMedianMs(), r.pytorchMedianMs(), r.ratio(),
                    r.gradguardCpuMedianMs(), r.pytorchCpuMedianMs(), r.cpuRatio()));
        }
        return s.toString();
    }

    /** The PyTorch arm: {@code scripts/step_bench.py} in a child process, driven line by line. */
    private static final class PythonArm implements AutoCloseable {
        private final Process process;
        private final BufferedReader replies;
        private final Writer commands;
        private final String workload;
        private String version = "";
        private long parameters;

        private PythonArm(Process process, String workload) {
            this.process = process;
            this.workload = workload;
            this.replies = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            this.commands = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        }

        static PythonArm start(Options options, String workload) throws IOException {
            if (!Files.isExecutable(options.python())) {
                throw new IllegalArgumentException("--vs-pytorch needs a Python with PyTorch: " + options.python()
                        + " is missing (scripts/pyenv.sh makes the venv; or name one with --python or GRADGUARD_PYTHON)");
            }
            ProcessBuilder builder = new ProcessBuilder(options.python().toString(), options.script().toString(),
                    workload, "--threads", Integer.toString(options.threads()))
                    .redirectError(ProcessBuilder.Redirect.INHERIT);
            // PyTorch as a Python user runs it: with glibc's allocator defaults, not the launcher's settings
            builder.environment().keySet().removeAll(GLIBC_ALLOCATOR_SETTINGS);
            Process p = builder.start();
            PythonArm arm = new PythonArm(p, workload);
            JsonNode ready = arm.reply();
            arm.version = ready.get("torch").asText();
            arm.parameters = ready.get("parameters").asLong();
            return arm;
        }

        /** Runs {@code count} steps in PyTorch and adds their milliseconds to {@code times}. */
        void run(int count, Times times) throws IOException {
            commands.write("run " + count + "\n");
            commands.flush();
            JsonNode reply = reply();
            reply.get("ms").forEach(t -> times.wallMs.add(t.asDouble()));
            reply.get("cpu_ms").forEach(t -> times.cpuMs.add(t.asDouble()));
        }

        private JsonNode reply() throws IOException {
            String line = replies.readLine();
            if (line == null) {
                throw new IOException("scripts/step_bench.py " + workload + " ended early (exit status "
                        + waitForExit() + "); its error is above");
            }
            return Json.pretty().readTree(line);
        }

        private String waitForExit() {
            try {
                return process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)
                        ? Integer.toString(process.exitValue()) : "none yet";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "unknown";
            }
        }

        @Override
        public void close() throws IOException {
            try {
                commands.write("quit\n");
                commands.flush();
            } catch (IOException alreadyEnded) {
                // nothing to tell a script that has ended; it is reaped below all the same
            }
            waitForExit();
            process.destroy();
        }
    }
}
