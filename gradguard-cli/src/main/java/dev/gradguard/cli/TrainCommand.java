package dev.gradguard.cli;

import dev.gradguard.dist.DistEnv;
import dev.gradguard.metrics.Json;
import dev.gradguard.run.ConfigFiles;
import dev.gradguard.session.RunDirectory;
import dev.gradguard.session.SessionResult;
import dev.gradguard.checkpoint.CheckpointException;
import dev.gradguard.run.TrainJob;
import dev.gradguard.run.TrainSettings;
import dev.gradguard.serve.DashboardServer;
import java.nio.file.Files;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code gradguard train}: trains a built-in task with the guarded loop and writes a run directory. */
@Command(name = "train",
        header = "Train a model with guarded steps: clipping, no NaN in the weights.", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Trains with the guarded loop: gradient clipping, a guard that never lets NaN or inf reach the weights, "
                    + "metrics in <out>/metrics.jsonl and a summary in <out>/summary.json. With no flags it runs the "
                    + "default job (the README gives its measured time) and says whether the model learned.",
            "Settings come from built-in defaults, then --config FILE (YAML or JSON, the flags' names without "
                    + "'--'), then flags."},
        footer = {"", "Exit codes: 0 done, 2 bad flags, config or run directory, 3 bad data, 4 no valid checkpoint "
                + "or a run file that cannot be written, 5 stopped after too many non-finite steps, 130/143 stopped "
                + "by SIGINT/SIGTERM (a checkpoint is saved first; 143 also for a data-parallel rank stopped because "
                + "another rank was signalled)."})
public final class TrainCommand implements Callable<Integer> {

    @Option(names = "--task", paramLabel = "NAME", description = "adding, temporal-order or charlm (default: ${gradguard.default.task})")
    String task;
    @Option(names = "--model", paramLabel = "NAME", description = "gru, lstm, rnn or transformer (charlm: lstm or transformer) (default: the task's)")
    String model;
    @Option(names = "--model-file", paramLabel = "FILE", description = "train a model defined in Python and saved with torch.jit.save(torch.jit.script(model), FILE); the task sets its input and output shapes (README: Your own PyTorch model) (default: none, a built-in model)")
    String modelFile;
    @Option(names = "--steps", paramLabel = "N", description = "training steps (default: ${gradguard.default.steps}; 300 for charlm's transformer)")
    String steps;
    @Option(names = "--batch-size", paramLabel = "N", description = "sequences per batch (default: ${gradguard.default.batch-size}; 32 for charlm's transformer)")
    String batchSize;
    @Option(names = "--lr", paramLabel = "LR", description = "learning rate (default: ${gradguard.default.lr}; 3e-3 for model transformer)")
    String lr;
    @Option(names = "--optimizer", paramLabel = "NAME", description = "sgd, adam or adamw, with PyTorch's defaults (default: ${gradguard.default.optimizer}; adamw for model transformer)")
    String optimizer;
    @Option(names = "--momentum", paramLabel = "M", description = "SGD momentum (default: ${gradguard.default.momentum})")
    String momentum;
    @Option(names = "--nesterov", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true", description = "Nesterov momentum for SGD (default: false)")
    String nesterov;
    @Option(names = "--weight-decay", paramLabel = "WD", description = "weight decay, decoupled for adamw (default: PyTorch's, 0 for sgd and adam, 0.01 for adamw)")
    String weightDecay;
    @Option(names = "--clip", paramLabel = "POLICY", description = "none, norm:MAX[:P], value:V, agc:FACTOR, autoclip:P[:WINDOW], zclip[:Z], spike[:K], loss-spike[:K], spike-abs:T; chain with ',' (e.g. spike:6,zclip) (default: ${gradguard.default.clip})")
    String clip;
    @Option(names = "--controller", paramLabel = "SPEC", description = "none or auto[:KEY=VALUE,...]: lower the LR when the norm keeps pressing the threshold, relax the threshold when clipping never triggers (default: ${gradguard.default.controller}; none when --clip has no threshold, e.g. none)")
    String controller;
    @Option(names = "--schedule", paramLabel = "SPEC", description = "constant, warmup:STEPS, cosine[:WARMUP], step:SIZE:GAMMA, plateau[:PATIENCE[:FACTOR[:INTERVAL]]] (default: ${gradguard.default.schedule}; warmup:30 for model transformer)")
    String schedule;
    @Option(names = "--seed", paramLabel = "N", description = "random seed for weights and data (default: ${gradguard.default.seed})")
    String seed;
    @Option(names = "--init-from", paramLabel = "FILE", description = "start from the weights in a .safetensors file (from gradguard export, or PyTorch's safetensors.torch.save_file with the model's names) instead of the seed's (default: none)")
    String initFrom;
    @Option(names = "--threads", paramLabel = "N", description = "libtorch intra-op threads (default: the machine's cores)")
    String threads;
    @Option(names = "--device", paramLabel = "DEVICE", description = "auto (a GPU when CUDA is usable, else the CPU), cpu, cuda or cuda:N (default auto)")
    String device;
    @Option(names = "--precision", paramLabel = "P", description = "fp32, bf16 or fp16: forward pass and loss under autocast in bf16 or fp16 (fp16 with dynamic loss scaling); weights and gradients stay fp32 (default fp32)")
    String precision;
    @Option(names = "--loss-scale-init", paramLabel = "S", description = "fp16: the first loss scale (default 65536, PyTorch's)")
    String lossScaleInit;
    @Option(names = "--loss-scale-growth-interval", paramLabel = "N", description = "fp16: finite steps in a row before the loss scale doubles (default 2000, PyTorch's)")
    String lossScaleGrowthInterval;
    @Option(names = "--flush-denormal", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true", description = "flush denormal floats to zero, torch.set_flush_denormal (default true: denormals slow CPU math tens of times)")
    String flushDenormal;
    @Option(names = "--accumulate", paramLabel = "N", description = "micro-batches per step (gradient accumulation; clipping once after the last) (default: 1)")
    String accumulate;
    @Option(names = "--hidden", paramLabel = "N", description = "hidden units of the model, or a transformer's width (default: the task's: 32 for adding and temporal-order, 128 for charlm's lstm, 64 for its transformer)")
    String hidden;
    @Option(names = "--layers", paramLabel = "N", description = "blocks of model transformer (default: the task's: 2)")
    String layers;
    @Option(names = "--heads", paramLabel = "N", description = "attention heads of model transformer, dividing --hidden (default: the task's: 4)")
    String heads;
    @Option(names = "--length", paramLabel = "T", description = "sequence length (adding, temporal-order) or window (charlm) (default: the task's: 30 for adding, 100 for temporal-order, 64 for charlm)")
    String length;
    @Option(names = "--data", paramLabel = "FILE", description = "UTF-8 text file for charlm (required there)")
    String data;
    @Option(names = "--eval-samples", paramLabel = "N", description = "held-out sequences for evaluation (default: ${gradguard.default.eval-samples})")
    String evalSamples;
    @Option(names = "--max-nonfinite", paramLabel = "N", description = "stop after N consecutive non-finite steps (default 20)")
    String maxNonfinite;
    @Option(names = "--divergence-stop", paramLabel = "FACTOR:STEPS", description = "stop a run whose loss stays above FACTOR times its first step's for STEPS steps in a row, counted as diverged; off for never (default: ${gradguard.default.divergence-stop})")
    String divergenceStop;
    @Option(names = "--inject-nonfinite", paramLabel = "STEPS", description = "fault injection: poison the gradients with NaN at these steps, e.g. 10,20,30, to watch the guard work (default: none)")
    String injectNonfinite;

    @Option(names = "--grad-buffer", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true", description = "bind gradients into one flat buffer per device and dtype, so clipping runs at memory speed (default true)")
    String gradBuffer;

    @Option(names = "--grad-sync", paramLabel = "MODE", description = "data-parallel runs: how ranks average gradients: flat (one all-reduce over the gradient buffer after backward) or reducer (DDP's Reducer, bucketed and overlapped with backward) (default flat)")
    String gradSync;
    @Option(names = "--tensorboard", paramLabel = "DIR", description = "directory for TensorBoard event files (default: the run directory)")
    String tensorboard;
    @Option(names = "--grad-norm-every", paramLabel = "N", description = "steps between per-parameter gradient norms in TensorBoard (default 100; 0 = never)")
    String gradNormEvery;

    @Option(names = "--checkpoint-every", paramLabel = "N", description = "save a checkpoint every N steps (default 0: only at the end); the last --keep-checkpoints are kept")
    String checkpointEvery;
    @Option(names = "--keep-checkpoints", paramLabel = "K", description = "checkpoints to keep (default 3)")
    String keepCheckpoints;
    @Option(names = "--rollback", paramLabel = "N", description = "on a spike (a step a spike guard in --clip skips), go back to the last checkpoint and skip the batches since, at most N times (default 0: off)")
    String rollback;
    @Option(names = "--resume", description = "continue the run in --out from its newest valid checkpoint (corrupt ones are reported and skipped)")
    boolean resume;

    @Option(names = "--dashboard", paramLabel = "PORT", arity = "0..1", fallbackValue = "6007",
            description = "serve a live dashboard of the runs next to this one on 127.0.0.1:PORT (default 6007) while training")
    Integer dashboard;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML or JSON file with the flags' names as keys (default: none)")
    Path config;
    @Option(names = "--out", paramLabel = "DIR", description = "run directory (default: runs/<task>-<time>)")
    Path out;
    @Option(names = "--overwrite", description = "replace an earlier gradguard run in --out (only the files it wrote; a directory that is not a run is refused)")
    boolean overwrite;
    @Option(names = "--json", description = "print summary.json on standard output")
    boolean json;
    @Option(names = "--quiet", description = "no progress output")
    boolean quiet;
    @Option(names = "--debug", description = "show stack traces of errors")
    boolean debug;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> explicit = new LinkedHashMap<>();
        if (config != null) {
            explicit.putAll(ConfigFiles.read(config));
        }
        TrainSettings settings;
        Path dir;
        if (resume) {
            if (out == null) {
                throw new IllegalArgumentException("--resume needs --out, the directory of the run to continue");
            }
            if (overwrite) {
                throw new IllegalArgumentException("--resume and --overwrite contradict each other: pick one");
            }
            dir = out;
            TrainSettings.defaults().with(explicit, config == null ? "config" : config.toString());
            explicit.putAll(flags());
            settings = TrainSettings.forResume(ConfigFiles.read(resumableConfig(out)), explicit, "this command");
        } else {
            settings = TrainSettings.defaults();
            if (config != null) {
                settings = settings.with(explicit, config.toString());
            }
            settings = settings.with(flags(), "command line");
            Map<String, Object> given = new LinkedHashMap<>(explicit);
            given.putAll(flags());
            refuseSettingsThatDoNothing(settings, given.keySet());
            if (out == null && System.getenv("WORLD_SIZE") != null && !"1".equals(System.getenv("WORLD_SIZE"))) {
                throw new IllegalArgumentException("--out is required in data-parallel runs, so every rank agrees on it");
            }
            dir = out != null ? out : RunDirectory.fresh(Path.of("runs"), settings.task());
        }

        PrintStream progress = quiet ? null : System.err;
        TrainJob.AfterRun say = result -> {
            PrintStream text = json ? System.err : System.out;
            text.println(result.sentence() + (result.interrupted() && result.checkpointDirectory().isPresent()
                    ? " Resume with --resume." : ""));
            text.println("Run directory: " + dir);
            if (result.runDirectory().isPresent() && result.rank() == 0) {
                text.println(result.stoppedEarly() || result.interrupted()
                        ? "Next: continue it with 'gradguard train --resume --out " + dir + "', or look at it with "
                                + "'gradguard report " + dir + "'"
                        : "Next: 'gradguard report " + dir + "' for the charts, or 'tensorboard --logdir " + dir + "'");
            }
            if (json) {
                System.out.println(Json.pretty().writeValueAsString(result.summary()));
            }
            text.flush();
        };
        SessionResult result;
        // in data-parallel runs rank 0 alone serves the dashboard, as it alone writes the run
        boolean mainRank = !DistEnv.isLaunched(System.getenv()) || DistEnv.fromEnvironment().isMain();
        if (dashboard != null && mainRank) {
            Path runsDir = dir.toAbsolutePath().getParent();
            Files.createDirectories(runsDir);
            try (DashboardServer server = DashboardServer.start(runsDir, DashboardServer.DEFAULT_HOST, dashboard)) {
                System.err.println("gradguard: live dashboard at " + server.runUrl(dir.getFileName().toString()));
                result = TrainJob.run(settings, dir, overwrite, progress, System.console() != null, resume, say);
            }
        } else {
            result = TrainJob.run(settings, dir, overwrite, progress, System.console() != null, resume, say);
        }
        if (result.interrupted()) {
            return ExitCodes.TERMINATED;
        }
        return result.stoppedEarly() ? ExitCodes.DIVERGED : ExitCodes.OK;
    }

    /**
     * Refuses a setting the user gave that the run would ignore: {@code momentum} with an optimizer other than
     * SGD (Adam's and AdamW's betas play its part), which gradguard once dropped silently.
     */
    private static void refuseSettingsThatDoNothing(TrainSettings settings, java.util.Set<String> given) {
        boolean momentum = given.stream().anyMatch(k -> k.trim().toLowerCase(java.util.Locale.ROOT).equals("momentum"));
        if (momentum && !settings.optimizer().equals("sgd")) {
            throw new IllegalArgumentException("'momentum' applies to --optimizer sgd only, not " + settings.optimizer()
                    + " (its betas play that part); remove --momentum");
        }
    }

    /**
     * The config.json of the run to resume.
     *
     * @throws IllegalArgumentException when {@code dir} is not a gradguard run
     * @throws CheckpointException when the run has no config.json, so there is nothing to resume
     */
    private static Path resumableConfig(Path dir) {
        // a data-parallel rank other than 0 only reads the run; rank 0 checks the directory for every rank
        boolean mainRank = !DistEnv.isLaunched(System.getenv()) || DistEnv.fromEnvironment().isMain();
        if (mainRank && !RunDirectory.isRun(dir)) {
            throw new IllegalArgumentException("--resume: " + dir + " is not a gradguard run (no "
                    + RunDirectory.MARKER + " marker), so there is nothing to resume");
        }
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new CheckpointException(dir, "there is nothing to resume from: the run has no config.json");
        }
        return config;
    }

    private Map<String, Object> flags() {
        Map<String, Object> m = new LinkedHashMap<>();
        put(m, "task", task);
        put(m, "model", model);
        put(m, "model-file", modelFile);
        put(m, "steps", steps);
        put(m, "batch-size", batchSize);
        put(m, "lr", lr);
        put(m, "optimizer", optimizer);
        put(m, "momentum", momentum);
        put(m, "nesterov", nesterov);
        put(m, "weight-decay", weightDecay);
        put(m, "clip", clip);
        put(m, "controller", controller);
        put(m, "schedule", schedule);
        put(m, "seed", seed);
        put(m, "init-from", initFrom);
        put(m, "threads", threads);
        put(m, "device", device);
        put(m, "precision", precision);
        put(m, "loss-scale-init", lossScaleInit);
        put(m, "loss-scale-growth-interval", lossScaleGrowthInterval);
        put(m, "flush-denormal", flushDenormal);
        put(m, "accumulate", accumulate);
        put(m, "hidden", hidden);
        put(m, "layers", layers);
        put(m, "heads", heads);
        put(m, "length", length);
        put(m, "data", data);
        put(m, "eval-samples", evalSamples);
        put(m, "max-nonfinite", maxNonfinite);
        put(m, "divergence-stop", divergenceStop);
        put(m, "inject-nonfinite", injectNonfinite);
        put(m, "grad-buffer", gradBuffer);
        put(m, "grad-sync", gradSync);
        put(m, "tensorboard", tensorboard);
        put(m, "checkpoint-every", checkpointEvery);
        put(m, "keep-checkpoints", keepCheckpoints);
        put(m, "rollback", rollback);
        put(m, "grad-norm-every", gradNormEvery);
        return m;
    }

    /**
     * Puts a flag's text under its settings key when the flag was given.
     *
     * @throws IllegalArgumentException when it was given an empty value, which for an optional path such as
     *     {@code --data ""} or {@code --tensorboard ""} would silently mean "not set"
     */
    static void put(Map<String, Object> m, String key, String value) {
        if (value != null && value.isBlank()) {
            throw new IllegalArgumentException("'" + key + "' must be given a value, got '" + value
                    + "' (leave the flag out for the default)");
        }
        if (value != null) {
            m.put(key, value);
        }
    }
}
