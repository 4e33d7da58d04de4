package dev.gradguard.cli;

import dev.gradguard.bench.StepBenchmark;
import dev.gradguard.engine.Torch;
import dev.gradguard.metrics.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code gradguard bench}: benchmarks that print ratios measured side by side in one run. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks: medians of interleaved repeats, ratios measured side by side in one run.",
        subcommands = {BenchCommand.Step.class})
public final class BenchCommand {

    /** Options every benchmark takes. */
    static class Common {
        @Option(names = "--threads", paramLabel = "N", description = "libtorch threads (default: the machine's cores)")
        Integer threads;
        @Option(names = "--json", paramLabel = "FILE", description = "also write the numbers as JSON to FILE")
        Path json;
        @Option(names = "--debug", description = "show stack traces of errors")
        boolean debug;

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
            Files.writeString(json, Json.pretty().writeValueAsString(doc) + "\n");
        }
    }

    /** {@code gradguard bench step}. */
    @Command(name = "step", mixinStandardHelpOptions = true,
            description = "Whole training steps: bare loop vs the gradguard trainer with the full guard, interleaved.")
    static final class Step extends Common implements Callable<Integer> {
        @Option(names = "--steps", paramLabel = "N", description = "timed steps per arm and model (default 200)")
        int steps = 200;
        @Option(names = "--warmup", paramLabel = "N", description = "untimed steps per arm first (default 20)")
        int warmup = 20;
        @Option(names = "--models", paramLabel = "LIST", split = ",", description = "charlm, convnet, transformer (default: all)")
        List<String> models = StepBenchmark.Options.MODELS;

        @Override
        public Integer call() throws Exception {
            StepBenchmark.Options options = new StepBenchmark.Options(steps, warmup, threads(), models);
            List<StepBenchmark.Result> results = StepBenchmark.run(options, System.out);
            writeJson("step", Map.of("steps", steps, "warmup", warmup, "threads", options.threads(), "models", models),
                    results.stream().map(StepBenchmark.Result::toMap).toList());
            return ExitCodes.OK;
        }
    }
}
