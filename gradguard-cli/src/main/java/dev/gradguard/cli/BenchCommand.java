package dev.gradguard.cli;

import dev.gradguard.bench.ClipBenchmark;
import dev.gradguard.bench.PyTorchComparison;
import dev.gradguard.bench.StepBenchmark;
import dev.gradguard.engine.Devices;
import dev.gradguard.engine.Torch;
import dev.gradguard.io.AtomicFiles;
import dev.gradguard.io.RegularFiles;
import dev.gradguard.metrics.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bytedeco.pytorch.Device;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code gradguard bench}: benchmarks that print ratios measured side by side in one run. */
@Command(name = "bench",
        header = "Measure clipping and training-step speed, side by side.", mixinStandardHelpOptions = true,
        description = "Benchmarks: medians of interleaved repeats, ratios measured side by side in one run.",
        subcommands = {BenchCommand.Clip.class, BenchCommand.Step.class, BenchCommand.Dist.class})
public final class BenchCommand {

    /** Options every benchmark takes. */
    static class Common {
        @Option(names = "--threads", paramLabel = "N", description = "libtorch threads (default: the machine's cores)")
        Integer threads;
        @Option(names = "--json", paramLabel = "FILE", description = "also write the numbers as JSON to FILE")
        Path json;
        private static final long MAX_BENCHMARK_JSON_BYTES = 16L << 20;
        @Option(names = "--debug", description = "show stack traces of errors")
        boolean debug;

        /**
         * Refuses a {@code --json} target that cannot be written as a file, before the benchmark runs.
         *
         * @throws IllegalArgumentException naming what it is
         */
        void checkJsonTarget() {
            if (json == null) {
                return;
            }
            RegularFiles.notRegular(json).ifPresent(kind -> {
                throw new IllegalArgumentException("--json " + json + " is " + kind + "; name a file to write");
            });
            RegularFiles.fileInTheWay(json).ifPresent(file -> {
                throw new IllegalArgumentException("--json " + json + " cannot be created: " + file + " is a file");
            });
            if (Files.exists(json) && !isBenchmarkJson(json)) {
                throw new IllegalArgumentException("--json " + json + " already exists and is not a gradguard benchmark's "
                        + "numbers; name a new file (an earlier benchmark's file is replaced)");
            }
        }

        /** Whether {@code file} is what {@link #writeJson} writes: a JSON object with "benchmark" and "results". */
        private static boolean isBenchmarkJson(Path file) {
            try {
                if (Files.size(file) > MAX_BENCHMARK_JSON_BYTES) {
                    return false;
                }
                var tree = Json.compact().readTree(file.toFile());
                return tree != null && tree.isObject() && tree.has("benchmark") && tree.has("results");
            } catch (java.io.IOException e) {
                return false;
            }
        }

        int threads() {
            return threads == null ? Torch.defaultThreads() : threads;
        }

        void writeJson(String benchmark, Object options, List<Map<String, Object>> rows) throws Exception {
            if (json == null) {
                return;
            }
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("benchmark", benchmark);
            doc.put("options", options);
            doc.put("machine", Map.of("cores", Runtime.getRuntime().availableProcessors(),
                    "os", System.getProperty("os.name") + " " + System.getProperty("os.arch"),
                    "java", System.getProperty("java.version"), "libtorch", Torch.version()));
            doc.put("results", rows);
            Path parent = json.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            AtomicFiles.writeString(json, Json.pretty().writeValueAsString(doc) + "\n");
        }
    }

    /** Options of the benchmarks that run on one chosen device (not dist: Gloo's all-reduce is CPU-only). */
    static class OnDevice extends Common {
        @Option(names = "--device", paramLabel = "DEVICE",
                description = "auto (a GPU when CUDA is usable, else the CPU), cpu, cuda or cuda:N (default auto)")
        String device = "auto";

        /** @throws IllegalArgumentException for an unknown form or an unusable GPU (exit 2) */
        Device resolveDevice() {
            return Devices.resolve(device);
        }
    }

    /** {@code gradguard bench clip}. */
    @Command(name = "clip", mixinStandardHelpOptions = true,
            description = {"Clipping alone on gradient sets shaped like ResNet-50, BERT-base and 1,000 small tensors: "
                + "GradBuffer.clipNorm vs ClipGrad.clipGradNorm vs libtorch's clip_grad_norm_ vs the memory floor, "
                + "with and without clipping needed."})
    static final class Clip extends OnDevice implements Callable<Integer> {
        @Option(names = "--repeats", paramLabel = "N", description = "timed rounds per case (default 50)")
        int repeats = ClipBenchmark.Options.DEFAULT_REPEATS;
        @Option(names = "--warmup", paramLabel = "N", description = "untimed rounds first (default 3)")
        int warmup = ClipBenchmark.Options.DEFAULT_WARMUP;
        @Option(names = "--sets", paramLabel = "LIST", split = ",", description = "resnet50, bert-base, small-1000 (default: all)")
        List<String> sets = List.of("resnet50", "bert-base", "small-1000");

        @Override
        public Integer call() throws Exception {
            checkJsonTarget();
            ClipBenchmark.Options options = new ClipBenchmark.Options(repeats, warmup, threads(),
                    sets.stream().map(ClipBenchmark.GradientSet::fromId).toList(), resolveDevice());
            List<ClipBenchmark.Result> results = ClipBenchmark.run(options, System.err);
            System.out.print(ClipBenchmark.table(results, options));
            writeJson("clip", Map.of("device", Devices.name(options.device()), "repeats", repeats, "warmup", warmup,
                            "threads", options.threads(), "sets", sets),
                    results.stream().map(ClipBenchmark.Result::toMap).toList());
            return ExitCodes.OK;
        }
    }

    /** {@code gradguard bench step}. */
    @Command(name = "step", mixinStandardHelpOptions = true,
            description = {"Whole training steps: bare loop vs the gradguard trainer with the full guard, interleaved.",
                "With --vs-pytorch: gradguard's guarded step vs PyTorch eager's bare loop (scripts/step_bench.py) on the "
                    + "CPU, same models and threads, and the ratio gradguard / PyTorch."})
    static final class Step extends OnDevice implements Callable<Integer> {
        @Option(names = "--steps", paramLabel = "N", description = "timed steps per arm and model (default 200)")
        int steps = 200;
        @Option(names = "--warmup", paramLabel = "N", description = "untimed steps per arm first (default 20)")
        int warmup = 20;
        @Option(names = "--models", paramLabel = "LIST", split = ",", description = "charlm, convnet, transformer; "
                + "with --vs-pytorch: default, charlm, transformer (charlm's --model transformer), convnet, convnet-cl "
                + "(PyTorch's batch channels-last too, the layout gradguard's conv net runs), and the micro-benchmarks "
                + "gemm, lstm, lstm-native, embedding, head (default: all)")
        List<String> models;
        @Option(names = "--vs-pytorch", description = "compare with PyTorch eager instead of gradguard's own bare loop")
        boolean vsPytorch;
        @Option(names = "--rounds", paramLabel = "N", description = "--vs-pytorch: blocks of steps each arm runs in "
                + "turn (default 10, or --steps when fewer)")
        Integer rounds;
        @Option(names = "--python", paramLabel = "PATH", description = "--vs-pytorch: a Python with PyTorch (default: "
                + "$GRADGUARD_PYTHON, else ~/.cache/gradguard/pyenv/bin/python, which scripts/pyenv.sh makes)")
        Path python;

        @Override
        public Integer call() throws Exception {
            checkJsonTarget();
            if (vsPytorch) {
                return versusPytorch();
            }
            List<String> chosen = models != null ? models : StepBenchmark.Options.MODELS;
            StepBenchmark.Options options =
                    new StepBenchmark.Options(steps, warmup, threads(), chosen, resolveDevice());
            List<StepBenchmark.Result> results = StepBenchmark.run(options, System.out);
            writeJson("step", Map.of("device", Devices.name(options.device()), "steps", steps, "warmup", warmup,
                            "threads", options.threads(), "models", chosen),
                    results.stream().map(StepBenchmark.Result::toMap).toList());
            return ExitCodes.OK;
        }

        private int versusPytorch() throws Exception {
            if (!device.equals("auto") && !device.equals("cpu")) {
                throw new IllegalArgumentException("--vs-pytorch runs on the CPU (PyTorch's CPU wheel); leave out "
                        + "--device " + device);
            }
            String configured = System.getenv("GRADGUARD_PYTHON");
            Path interpreter = python != null ? python : configured != null && !configured.isBlank()
                    ? Path.of(configured) : Path.of(System.getProperty("user.home"), ".cache", "gradguard", "pyenv",
                            "bin", "python");
            List<String> chosen = models != null ? models : PyTorchComparison.WORKLOADS;
            int blocks = rounds != null ? rounds : Math.min(10, Math.max(1, steps));
            PyTorchComparison.Options options = new PyTorchComparison.Options(steps, warmup, blocks, threads(), chosen,
                    interpreter, PyTorchComparison.locateScript());
            List<PyTorchComparison.Result> results = PyTorchComparison.run(options, System.out);
            writeJson("step-vs-pytorch", Map.of("steps", steps, "warmup", warmup, "rounds", blocks,
                            "threads", options.threads(), "models", chosen, "load_average",
                            java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()),
                    results.stream().map(PyTorchComparison.Result::toMap).toList());
            return ExitCodes.OK;
        }
    }

    /** {@code gradguard bench dist}. */
    @Command(name = "dist", mixinStandardHelpOptions = true,
            description = {"Data-parallel throughput on loopback: 1 worker x all threads vs one worker per core "
                + "with one thread each, the latter with each gradient sync (flat all-reduce after backward, DDP's "
                + "Reducer during backward); configurations alternate over several rounds and each row shows medians."})
    static final class Dist extends Common implements Callable<Integer> {
        @Option(names = "--steps", paramLabel = "N", description = "timed steps per configuration and round (default 200)")
        int steps = 200;
        @Option(names = "--batch-size", paramLabel = "N", description = "global batch (default 256)")
        int batch = 256;
        @Option(names = "--hidden", paramLabel = "N", description = "MLP width (default 512)")
        int hidden = 512;
        @Option(names = "--rounds", paramLabel = "N", description = "rounds over all configurations (default 3)")
        int rounds = 3;

        @Override
        public Integer call() throws Exception {
            checkJsonTarget();
            if (rounds < 1) {
                throw new IllegalArgumentException("--rounds must be at least 1, got " + rounds);
            }
            List<dev.gradguard.bench.DistBenchmark.Row> rows =
                    dev.gradguard.bench.DistBenchmark.run(steps, batch, hidden, threads(), rounds);
            System.out.println(dev.gradguard.bench.DistBenchmark.table(rows, steps, batch, hidden, rounds));
            writeJson("dist", Map.of("steps", steps, "batch", batch, "hidden", hidden, "threads", threads(),
                            "rounds", rounds),
                    rows.stream().map(r -> Map.<String, Object>of("workers", r.workers(), "threads_per_worker",
                            r.threadsPerWorker(), "grad_sync", r.sync().cliName(), "step_ms", r.stepMs(),
                            "backward_ms", r.backwardMs(), "allreduce_after_backward_ms", r.syncMs(),
                            "samples_per_s", r.samplesPerSecond())).toList());
            return ExitCodes.OK;
        }
    }
}
