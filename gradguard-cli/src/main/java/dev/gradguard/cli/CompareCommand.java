package dev.gradguard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.compare.CompareOptions;
import dev.gradguard.report.ComparisonFiles;
import dev.gradguard.compare.Comparison;
import dev.gradguard.compare.RunResult;
import dev.gradguard.engine.Devices;
import dev.gradguard.engine.Torch;
import dev.gradguard.metrics.Json;
import dev.gradguard.run.ConfigFiles;
import dev.gradguard.session.RunDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code gradguard compare}: a grid of clip policies x seeds, each run isolated in its own JVM. */
@Command(name = "compare",
        header = "Train one task under several clip policies and seeds, side by side.", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Train the same task under several clip policies and seeds, in parallel (one thread per run, each",
            "run in its own JVM so one crash does not stop the others), and write compare.json, compare.md and",
            "compare.png (loss and gradient-norm curves per policy).",
            "With no flags it runs the default comparison: the adding problem with an aggressive learning rate",
            "(about 5 minutes on 2 cores)."})
public final class CompareCommand implements Callable<Integer> {
    @Option(names = "--policies", paramLabel = "LIST",
            description = "clip policies separated by ';' (a policy may itself be a ','-chain); default: none;norm:1.0;value:0.5;agc:0.01;autoclip:10;zclip. A plain ','-list of single policies also works.")
    String policies;
    @Option(names = "--seeds", paramLabel = "N", description = "seeds per policy (default 5)")
    int seeds = 5;
    @Option(names = "--parallel", paramLabel = "N", description = "runs at once (default: the machine's cores)")
    Integer parallel;
    @Option(names = "--run-timeout", paramLabel = "SECONDS", description = "stop a run after this long (default 1800)")
    long runTimeout = 1800;
    @Option(names = "--config", paramLabel = "FILE", description = "train settings (YAML or JSON, train's keys) every run shares")
    Path config;
    @Option(names = "--task", paramLabel = "NAME", description = "task (default: adding)")
    String task;
    @Option(names = "--model", paramLabel = "NAME", description = "model (default: gru)")
    String model;
    @Option(names = "--steps", paramLabel = "N", description = "steps per run (default 1200)")
    String steps;
    @Option(names = "--lr", paramLabel = "LR", description = "learning rate (default 0.5)")
    String lr;
    @Option(names = "--length", paramLabel = "T", description = "sequence length (default 30)")
    String length;
    @Option(names = "--batch-size", paramLabel = "N", description = "batch size (default 64)")
    String batchSize;
    @Option(names = "--optimizer", paramLabel = "NAME", description = "optimizer (default sgd, momentum 0.9)")
    String optimizer;
    @Option(names = "--device", paramLabel = "DEVICE", description = "auto, cpu, cuda or cuda:N for every run (default auto)")
    String device;
    @Option(names = "--out", paramLabel = "DIR", description = "output directory (default: runs/compare-<time>)")
    Path out;
    @Option(names = "--overwrite", description = "replace a comparison already in --out")
    boolean overwrite;
    @Option(names = "--debug", description = "show stack traces of errors")
    boolean debug;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> train = new LinkedHashMap<>(CompareOptions.defaultTrainSettings());
        if (config != null) {
            train.putAll(ConfigFiles.read(config));
        }
        TrainCommand.put(train, "task", task);
        TrainCommand.put(train, "model", model);
        TrainCommand.put(train, "steps", steps);
        TrainCommand.put(train, "lr", lr);
        TrainCommand.put(train, "length", length);
        TrainCommand.put(train, "batch-size", batchSize);
        TrainCommand.put(train, "optimizer", optimizer);
        TrainCommand.put(train, "device", device);
        if (train.get("device") instanceof String spec) {
            Devices.resolve(spec); // a device the runs cannot use fails here, once, before any run starts
        }
        for (String key : List.of("clip", "seed", "threads", "out")) {
            if (train.containsKey(key)) {
                throw new IllegalArgumentException("'" + key + "' is set by compare for each run; remove it from " + config);
            }
        }
        List<String> policyList = policies == null ? CompareOptions.DEFAULT_POLICIES : splitPolicies(policies);
        CompareOptions options = new CompareOptions(policyList, seeds,
                parallel == null ? Torch.defaultThreads() : parallel, train, runTimeout);

        Path dir = out != null ? out : RunDirectory.fresh(Path.of("runs"), "compare");
        List<RunResult> results;
        try (RunDirectory claimed = RunDirectory.open(dir, overwrite ? RunDirectory.Mode.OVERWRITE : RunDirectory.Mode.CREATE)) {
            System.err.printf("gradguard compare: %d policies x %d seeds, %d at a time, into %s%n",
                    options.policies().size(), options.seeds(), options.parallel(), dir);
            long start = System.nanoTime();
            results = Comparison.run(options, claimed, System.err);
            double wall = (System.nanoTime() - start) / 1e9;
            String metric = metricName(dir);
            for (String file : List.of("compare.json", "compare.md", "compare.png")) {
                claimed.record(dir.resolve(file));
            }
            ComparisonFiles.write(results, options, metric, dir, wall);
        }
        System.out.print(Files.readString(dir.resolve("compare.md")));
        System.out.println("\nWrote " + dir.resolve("compare.json") + ", compare.md and compare.png");
        return results.stream().anyMatch(r -> r.error().isPresent()) ? ExitCodes.INTERNAL : ExitCodes.OK;
    }

    /**
     * Policies separated by ';', or, when the text has no ';', by ',' (the usual {@code none,norm:1.0,zclip});
     * a chain such as {@code spike:6,zclip} as one policy therefore needs the ';' form.
     */
    static List<String> splitPolicies(String text) {
        if (text.contains(";")) {
            return Stream.of(text.split(";")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        }
        return Stream.of(text.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    private static String metricName(Path dir) throws IOException {
        try (Stream<Path> runs = Files.list(dir.resolve("runs"))) {
            for (Path run : runs.sorted().toList()) {
                Path summary = run.resolve("summary.json");
                if (Files.exists(summary)) {
                    JsonNode s = Json.compact().readTree(summary.toFile());
                    return s.get("metric").asText();
                }
            }
        }
        return "metric";
    }
}
