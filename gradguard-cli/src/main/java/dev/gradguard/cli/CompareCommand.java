package dev.gradguard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.compare.CompareOptions;
import dev.gradguard.compare.Comparison;
import dev.gradguard.compare.Policy;
import dev.gradguard.compare.RunResult;
import dev.gradguard.engine.Devices;
import dev.gradguard.engine.Torch;
import dev.gradguard.metrics.Json;
import dev.gradguard.report.ComparisonFiles;
import dev.gradguard.run.ConfigFiles;
import dev.gradguard.run.SettingsLayers;
import dev.gradguard.run.TrainJob;
import dev.gradguard.run.TrainSettings;
import dev.gradguard.session.RunDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code gradguard compare}: a grid of policies x learning rates x seeds, each run isolated in its own JVM.
 * Every {@code train} setting the grid does not set per run is a flag here too, through train's own
 * {@link SettingOptions.Shared} mixin.
 */
@Command(name = "compare",
        header = "Train one task under several clip policies and seeds, side by side.", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Train the same task under several policies, learning rates and seeds, in parallel (one thread per run, "
            + "each run in its own JVM so one crash does not stop the others), and write compare.json (with each "
            + "policy's stable learning-rate range), compare.md, compare-map.png (the stability map: successes per "
            + "policy and learning rate) and compare.png (the curves).",
            "With no flags it runs the default comparison: the adding problem with a GRU and SGD (momentum 0.9, "
            + "batch 64, 1200 steps) at the aggressive learning rate 0.5 (README gives its measured time). Once a task "
            + "is named (--task or in --config) the runs start from train's defaults instead. Every train setting other "
            + "than --clip, --controller, --lr, --seed and --threads, which the grid sets, is taken here as well."})
public final class CompareCommand implements Callable<Integer> {
    @Option(names = "--policies", paramLabel = "LIST",
            description = "policies separated by ';', each a clip policy as --clip takes it, or CLIP@CONTROLLER with a"
                    + " controller as --controller takes it (e.g. zclip@auto), or the word default: train's policy"
                    + " without --clip and --controller. A plain ','-list of single clip policies also works."
                    + " (default: none;norm:1.0;value:0.5;agc:0.01;autoclip:10;zclip)")
    String policies;
    @Option(names = "--lrs", paramLabel = "LIST", description = "learning rates separated by ',', each run with every policy"
            + " and seed (default: --lr's)")
    String lrs;
    @Option(names = "--lr", paramLabel = "LR", description = "a single learning rate (default: 0.5 in the default comparison,"
            + " else train's)")
    String lr;
    @Option(names = "--seeds", paramLabel = "N", description = "seeds per policy and learning rate (default 5)")
    int seeds = 5;
    @Option(names = "--parallel", paramLabel = "N", description = "runs at once (default: the machine's cores)")
    Integer parallel;
    @Option(names = "--run-timeout", paramLabel = "SECONDS", description = "stop a run after this long (default 1800)")
    long runTimeout = 1800;
    @Option(names = "--config", paramLabel = "FILE", description = "train settings (YAML or JSON, train's keys) every run shares")
    Path config;
    @Option(names = "--out", paramLabel = "DIR", description = "output directory (default: runs/compare-<time>)")
    Path out;
    @Option(names = "--overwrite", description = "replace a comparison already in --out")
    boolean overwrite;
    @Option(names = "--debug", description = "show stack traces of errors")
    boolean debug;

    @Mixin
    SettingOptions.Shared shared = new SettingOptions.Shared();

    @Override
    public Integer call() throws Exception {
        SettingsLayers layers = SettingsLayers.none();
        if (config != null) {
            layers = layers.with(ConfigFiles.read(config), config.toString());
        }
        layers = layers.with(SettingOptions.given(shared), "command line");
        Map<String, Object> given = new LinkedHashMap<>(layers.given());
        Object configLr = given.remove("lr");
        boolean defaultComparison = !given.containsKey("task");
        Map<String, Object> train = new LinkedHashMap<>(defaultComparison ? CompareOptions.defaultTrainSettings() : Map.of());
        train.putAll(given);
        TrainSettings sharedSettings = TrainSettings.of(train, config == null ? "the shared settings" : config.toString());
        // the task, its data and the model's sizes fail here, once, before any run starts
        TrainJob.checkProblem(sharedSettings.problem());
        if (train.get("device") instanceof String device) {
            Devices.resolve(device); // a device the runs cannot use fails here, once, before any run starts
        }
        List<Double> grid = learningRates(configLr, defaultComparison ? CompareOptions.DEFAULT_LR : sharedSettings.optimization().lr());

        List<String> texts = policies == null ? CompareOptions.DEFAULT_POLICIES : splitPolicies(policies);
        List<String> specs = texts.stream().map(t -> Policy.resolve(t).spec()).toList();
        Optional<String> defaultPolicy = texts.stream().anyMatch(t -> t.equalsIgnoreCase(Policy.DEFAULT_WORD))
                ? Optional.of(Policy.trainDefault().spec()) : Optional.empty();
        CompareOptions options = new CompareOptions(specs, defaultPolicy, grid, seeds,
                parallel == null ? Torch.defaultThreads() : parallel, train, runTimeout);

        Path dir = out != null ? out : RunDirectory.fresh(Path.of("runs"), "compare");
        List<RunResult> results;
        try (RunDirectory claimed = RunDirectory.open(dir, overwrite ? RunDirectory.Mode.OVERWRITE : RunDirectory.Mode.CREATE)) {
            System.err.printf(Locale.ROOT, "gradguard compare: %d policies x %d learning rates x %d seeds = %d runs, %d at a"
                    + " time, into %s%n", options.policies().size(), options.lrs().size(), options.seeds(), options.runs(),
                    options.parallel(), dir);
            long start = System.nanoTime();
            results = Comparison.run(options, claimed, System.err);
            double wall = (System.nanoTime() - start) / 1e9;
            String metric = metricName(dir);
            for (String file : ComparisonFiles.FILES) {
                claimed.record(dir.resolve(file));
            }
            ComparisonFiles.write(results, options, metric, dir, wall);
        }
        System.out.print(Files.readString(dir.resolve("compare.md")));
        System.out.println("\nWrote " + dir.resolve("compare.json") + ", compare.md, compare-map.png and compare.png");
        return results.stream().anyMatch(r -> r.error().isPresent()) ? ExitCodes.INTERNAL : ExitCodes.OK;
    }

    /** The grid: --lrs, or --lr, or the config's lr, or {@code fallback}; each checked as train checks --lr. */
    private List<Double> learningRates(Object configLr, double fallback) {
        if (lrs != null && lr != null) {
            throw new IllegalArgumentException("give --lr or --lrs, not both");
        }
        List<Object> texts = new ArrayList<>();
        if (lrs != null) {
            Stream.of(lrs.split(",", -1)).map(String::trim).forEach(texts::add);
        } else if (lr != null) {
            texts.add(lr);
        } else if (configLr != null) {
            texts.add(configLr);
        } else {
            texts.add(fallback);
        }
        List<Double> out = new ArrayList<>();
        for (Object t : texts) {
            if (t instanceof String s && s.isEmpty()) {
                throw new IllegalArgumentException("--lrs must be learning rates separated by ',', e.g. 0.01,0.1,1; got '"
                        + lrs + "'");
            }
            out.add(TrainSettings.of(Map.of("lr", t), lrs != null ? "--lrs" : "--lr").optimization().lr());
        }
        return out;
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
