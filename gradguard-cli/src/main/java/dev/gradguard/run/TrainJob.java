package dev.gradguard.run;

import dev.gradguard.amp.GradScaler;
import dev.gradguard.amp.Precision;
import dev.gradguard.checkpoint.LoadedCheckpoint;
import dev.gradguard.clip.AbsoluteSpikeGuard;
import dev.gradguard.clip.ClipPolicies;
import dev.gradguard.clip.SpikeGuard;
import dev.gradguard.clip.GradientPipeline;
import dev.gradguard.control.Controller;
import dev.gradguard.control.Controllers;
import dev.gradguard.data.BatchSource;
import dev.gradguard.dist.DataParallel;
import dev.gradguard.dist.DataSharding;
import dev.gradguard.dist.DistEnv;
import dev.gradguard.dist.DistTimeouts;
import dev.gradguard.engine.Devices;
import dev.gradguard.engine.Torch;
import dev.gradguard.guard.NonFiniteGuard;
import dev.gradguard.run.ConsoleProgress;
import dev.gradguard.metrics.Json;
import dev.gradguard.metrics.MetricsJsonlWriter;
import dev.gradguard.metrics.tensorboard.TensorBoardListener;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.optim.OptimizerSpec;
import dev.gradguard.optim.Optimizers;
import dev.gradguard.optim.Schedules;
import dev.gradguard.task.Evaluation;
import dev.gradguard.task.Task;
import dev.gradguard.task.TaskOptions;
import dev.gradguard.task.Tasks;
import dev.gradguard.train.NonFiniteInjection;
import dev.gradguard.train.Trainer;
import dev.gradguard.train.TrainingOutcome;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.global.torch;

/**
 * A whole {@code train} run as the CLI runs it, usable from Java: builds the task, model, optimizer,
 * schedule and gradient pipeline from {@link TrainSettings}, trains with the guarded {@link Trainer},
 * saves the weights, evaluates on held-out data and writes {@code summary.json}.
 */
public final class TrainJob {
    private TrainJob() {
    }

    /**
     * Runs the job.
     *
     * @param settings the effective settings
     * @param progress where progress goes, or {@code null} for none
     * @param terminal whether {@code progress} is a terminal (a redrawn bar) or a log (periodic lines)
     * @return the summary, also written to {@code summary.json}
     * @throws IllegalArgumentException for settings the task, optimizer, schedule or clip policy reject
     * @throws dev.gradguard.task.DataException for a bad data file
     * @throws IOException when the run directory cannot be written
     */
    public static TrainSummary run(TrainSettings settings, Path out, boolean overwrite, PrintStream progress,
            boolean terminal) throws IOException {
        return run(settings, out, overwrite, progress, terminal, false);
    }

    /**
     * Runs the job, or resumes it from the newest valid checkpoint in the run directory. Every setting is
     * checked (and a data file read) before the run directory is created or touched, so a bad input leaves
     * nothing behind.
     *
     * @param out the run directory
     * @param overwrite whether an earlier run's outputs in {@code out} may be replaced
     * @param resume whether to continue from the run's newest valid checkpoint (corrupt or partial ones are
     *     reported on {@code progress} and skipped); with no checkpoint yet, training starts from step 0
     * @throws dev.gradguard.checkpoint.CheckpointException when checkpoints exist but none is valid, or one
     *     does not fit this run
     */
    public static TrainSummary run(TrainSettings settings, Path out, boolean overwrite, PrintStream progress,
            boolean terminal, boolean resume) throws IOException {
        long start = System.nanoTime();
        Torch.load();
        Torch.setThreads(settings.threads());
        Torch.setFlushDenormal(settings.flushDenormal());

        Task task = Tasks.create(settings.task(), taskOptions(settings));
        String modelName = settings.model().equals("auto") ? task.models().get(0) : settings.model();
        if (!task.models().contains(modelName)) {
            throw new IllegalArgumentException("task " + task.name() + " has no model '" + modelName
                    + "' (allowed: " + String.join(", ", task.models()) + ", auto)");
        }
        DistEnv distEnv = DistEnv.isLaunched(System.getenv()) ? DistEnv.fromEnvironment() : DistEnv.single();
        Device device = Devices.resolveForWorker(settings.device(), distEnv.localRank());
        GradScaler scaler = gradScaler(settings);
        checkPrecision(settings.precision(), task, modelName, device, settings.seed());
        GradientPipeline pipeline = ClipPolicies.parse(settings.clip());
        Controller controller = Controllers.parse(settings.controller(), pipeline);
        if (settings.rollback() > 0 && pipeline.transforms().stream()
                .noneMatch(t -> t instanceof SpikeGuard || t instanceof AbsoluteSpikeGuard)) {
            throw new IllegalArgumentException("--rollback needs a spike guard in --clip to say what a spike is "
                    + "(spike[:K], loss-spike[:K] or spike-abs:T, e.g. --clip spike:6,norm:1.0)");
        }
        OptimizerSpec optimizerSpec = optimizerSpec(settings);
        task.footprint(modelName).requireFits(settings.batchSize(),
                optimizerSpec.name().equals("sgd") ? (optimizerSpec.momentum() > 0 ? 1 : 0) : 2);
        var schedule = Schedules.parse(settings.schedule(), settings.lr(), settings.steps());
        NonFiniteInjection injection = NonFiniteInjection.atSteps(new HashSet<>(settings.injectNonfinite()));

        DataParallel parallel = DataParallel.init(distEnv, DistTimeouts.fromMap(System.getenv()), device.is_cuda());
        boolean main = parallel.isMain();
        if (settings.batchSize() % parallel.worldSize() != 0) {
            throw new IllegalArgumentException("'batch-size' " + settings.batchSize() + " is the global batch and must be "
                    + "divisible by the " + parallel.worldSize() + " data-parallel workers");
        }
        // rank 0 writes the run directory; the other ranks only read checkpoints from it
        RunDirectory run = !main ? RunDirectory.of(out)
                : resume ? RunDirectory.existing(out) : RunDirectory.prepare(out, overwrite);

        torch.manual_seed(settings.seed());
        Model model = task.createModel(modelName);
        model.module().to(device, false);
        // each rank draws its own share of the global batch from its own stream
        BatchSource data = task.trainingData(DataSharding.seedFor(settings.seed(), parallel.rank()),
                settings.batchSize() / parallel.worldSize());

        Map<String, Object> config = new LinkedHashMap<>(settings.asMap());
        config.put("model", modelName);
        RunCheckpoints checkpoints = new RunCheckpoints(run, settings, progress == null ? System.err : progress, parallel);
        Optional<LoadedCheckpoint> restored = resume ? checkpoints.newestValid() : Optional.empty();
        if (restored.isEmpty() && main) {
            if (resume) {
                RunDirectory.prepare(run.path(), true);
            }
            RunDirectory.writeAtomically(run.config(), Json.pretty().writeValueAsString(settings.asMap()) + "\n");
        }

        Optimizer optimizer = Optimizers.create(optimizerSpec, Parameters.of(model.module()));
        // a checkpoint that does not fit is refused before any output file is touched
        restored.ifPresent(c -> {
            c.checkModel(model.module());
            c.checkOptimizer(optimizer);
        });
        Trainer.Builder builder = Trainer.builder()
                .model(model)
                .data(data)
                .loss(task::loss)
                .optimizer(optimizer)
                .schedule(schedule)
                .pipeline(pipeline)
                .guard(new NonFiniteGuard(settings.maxNonfinite()))
                .controller(controller)
                .gradBuffer(settings.gradBuffer())
                .gradSync(settings.gradSync())
                .accumulation(settings.accumulate())
                .injection(injection)
                .dataParallel(parallel)
                .device(device)
                .precision(settings.precision())
                .gradScaler(scaler);
        TrainingOutcome outcome;
        Optional<Evaluation> evaluation = Optional.empty();
        List<String> rankChecksums;
        try (parallel;
                MetricsJsonlWriter metrics = main ? checkpoints.openMetrics(restored) : null;
                TensorBoardListener tensorboard = main ? checkpoints.openTensorBoard(restored) : null) {
            if (main) {
                builder.listener(metrics).listener(tensorboard);
                if (progress != null) {
                    builder.listener(new ConsoleProgress(progress, terminal));
                }
            }
            builder.listener(checkpoints);
            Trainer trainer = builder.build();
            checkpoints.attach(trainer, metrics, tensorboard);
            restored.ifPresent(c -> checkpoints.restore(c, trainer));
            try (StopOnSignal signals = StopOnSignal.install(trainer)) {
                outcome = trainer.run(settings.steps());
                checkpoints.saveFinal();
                // every rank stopped before the same step (Trainer.run agrees on it), so every rank asks
                if (parallel.anyTrue(signals.requested())) {
                    // a signalled JVM exits with 130 (SIGINT) or 143 (SIGTERM) once this hook's wait ends; a
                    // rank stopped because a peer was signalled exits 143 through its summary
                    TrainSummary summary;
                    if (main) {
                        metrics.close();
                        tensorboard.close();
                        summary = interrupted(outcome, checkpoints);
                    } else {
                        summary = new TrainSummary(Map.of("rank", parallel.rank(), "steps", outcome.steps()),
                                "rank " + parallel.rank() + " stopped after " + outcome.steps() + " steps: "
                                        + outcome.stopReason().orElse("interrupted"), outcome.stopReason(), true);
                    }
                    // said here: once this block closes the signal hook, the JVM exits at once
                    System.err.println(summary.sentence());
                    System.err.flush();
                    return summary;
                }
            }
            rankChecksums = parallel.gatherChecksums(Parameters.of(model.module()).checksum());
            if (!main) {
                String done = "rank " + parallel.rank() + " finished " + outcome.steps() + " steps";
                return new TrainSummary(Map.of("rank", parallel.rank(), "steps", outcome.steps()), done,
                        outcome.stopReason());
            }
            saveWeights(model, run.weights());
            try (PointerScope scope = new PointerScope()) {
                evaluation = Optional.of(task.evaluate(onDevice(model, device)));
            }
            tensorboard.addEval(evaluation.get().metric(), evaluation.get().value(), outcome.steps());
        }
        Evaluation e = evaluation.get();
        Parameters parameters = Parameters.of(model.module());

        Map<String, Object> s = new LinkedHashMap<>();
        s.put("task", task.name());
        s.put("model", modelName);
        s.put("steps", outcome.steps());
        s.put("final_loss", Json.number(outcome.finalLoss()));
        s.put("metric", e.metric());
        s.put("metric_value", Json.number(e.value()));
        s.put("baseline_value", Json.number(e.baseline()));
        s.put("criterion", e.criterion());
        s.put("learned", e.learned());
        s.put("skipped_steps", outcome.skippedSteps());
        s.put("nonfinite_steps", outcome.nonFiniteSteps());
        s.put("clipped_steps", outcome.clippedSteps());
        s.put("clip_rate", outcome.steps() == 0 ? 0.0 : (double) outcome.clippedSteps() / outcome.steps());
        s.put("lr_scale", controller.lrScale());
        if (scaler.enabled()) {
            s.put("loss_scale", Json.number(scaler.scale()));
        }
        s.put("params_finite", parameters.allFinite());
        s.put("param_checksum", parameters.checksum());
        s.put("param_count", parameters.numel());
        s.put("completed", outcome.completed());
        outcome.stopReason().ifPresent(r -> s.put("stop_reason", r));
        restored.ifPresent(c -> s.put("resumed_from_step", c.step()));
        s.put("rollbacks", checkpoints.rollbacks());
        s.put("world_size", parallel.worldSize());
        s.put("rank_param_checksums", rankChecksums);
        s.put("wall_s", Math.round((System.nanoTime() - start) / 1e7) / 100.0);
        s.put("train_s", Math.round(outcome.wallSeconds() * 100) / 100.0);
        s.put("device", Devices.name(device));
        s.put("libtorch", Torch.version());
        s.put("config", config);

        TrainSummary summary = new TrainSummary(s, sentence(outcome, e), outcome.stopReason());
        RunDirectory.writeAtomically(run.summary(), Json.pretty().writeValueAsString(summary.asMap()) + "\n");
        return summary;
    }

    private static TrainSummary interrupted(TrainingOutcome outcome, RunCheckpoints checkpoints) {
        String reason = outcome.stopReason().orElse("interrupted");
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("steps", outcome.steps());
        s.put("completed", false);
        s.put("stop_reason", reason);
        String sentence = "Training stopped after " + outcome.steps() + " steps (" + reason + "); checkpoint saved in "
                + checkpoints.store().directory() + ". Resume with the same command and --resume.";
        return new TrainSummary(s, sentence, Optional.of(reason), true);
    }

    /** The model as tasks evaluate it: inputs moved to its device, outputs back to the CPU. */
    static Model onDevice(Model model, Device device) {
        if (device.is_cpu()) {
            return model;
        }
        return new Model() {
            @Override
            public org.bytedeco.pytorch.Module module() {
                return model.module();
            }

            @Override
            public org.bytedeco.pytorch.Tensor forward(org.bytedeco.pytorch.Tensor input) {
                org.bytedeco.pytorch.Tensor out = model.forward(input.to(device, input.scalar_type()));
                return out.to(new Device("cpu"), out.scalar_type());
            }
        };
    }

    static TaskOptions taskOptions(TrainSettings settings) {
        TaskOptions options = TaskOptions.defaults().withEvalSamples(settings.evalSamples());
        if (settings.hidden().isPresent()) {
            options = options.withHidden(settings.hidden().getAsInt());
        }
        if (settings.length().isPresent()) {
            int t = settings.length().getAsInt();
            options = options.withLength(t).withSeqLen(t);
        }
        if (settings.data().isPresent()) {
            options = options.withDataPath(settings.data().get());
        }
        return options;
    }

    /** fp16's loss scaler from the settings; a pass-through for fp32 and bf16, which take no loss-scale settings. */
    static GradScaler gradScaler(TrainSettings settings) {
        Precision precision = settings.precision();
        if (precision.needsLossScaling()) {
            return new GradScaler(settings.lossScaleInit(), 2.0, 0.5, settings.lossScaleGrowthInterval(), true);
        }
        TrainSettings defaults = TrainSettings.defaults();
        if (settings.lossScaleInit() != defaults.lossScaleInit()
                || settings.lossScaleGrowthInterval() != defaults.lossScaleGrowthInterval()) {
            throw new IllegalArgumentException("'loss-scale-init' and 'loss-scale-growth-interval' apply to --precision "
                    + "fp16 only, not " + precision.id());
        }
        return GradScaler.disabled();
    }

    /**
     * Fails fast, before the run directory is touched, when the model cannot run its training forward pass in
     * the chosen precision on this device: one forward pass of a throw-away copy of the model on a 2-sequence
     * batch (the real model's weights are drawn afterwards, from the seed).
     */
    private static void checkPrecision(Precision precision, Task task, String modelName, Device device, long seed) {
        if (precision == Precision.FP32) {
            return;
        }
        try (PointerScope scope = new PointerScope()) {
            Model probe = task.createModel(modelName);
            probe.module().to(device, false);
            org.bytedeco.pytorch.Tensor input = task.trainingData(seed, 2).next().input();
            precision.checkForward(probe, modelName, input.to(device, input.scalar_type()), device);
        }
    }

    static OptimizerSpec optimizerSpec(TrainSettings settings) {
        OptimizerSpec spec = OptimizerSpec.defaults(settings.optimizer(), settings.lr());
        if (spec.name().equals("sgd")) {
            spec = spec.withMomentum(settings.momentum()).withNesterov(settings.nesterov());
        } else if (settings.nesterov()) {
            throw new IllegalArgumentException("'nesterov' applies to --optimizer sgd only, not " + spec.name());
        }
        if (settings.weightDecay().isPresent()) {
            spec = spec.withWeightDecay(settings.weightDecay().getAsDouble());
        }
        return spec;
    }

    private static void saveWeights(Model model, Path target) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        OutputArchive archive = new OutputArchive();
        model.module().save(archive);
        archive.save_to(tmp.toString());
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static String sentence(TrainingOutcome outcome, Evaluation e) {
        String measured = String.format(Locale.ROOT, "%s %.4g on held-out data (trivial baseline %.4g; success when %s)",
                e.metric(), e.value(), e.baseline(), e.criterion());
        String guard = outcome.nonFiniteSteps() == 0 ? ""
                : String.format(Locale.ROOT, " The guard skipped %d step(s) with non-finite loss or gradients.",
                        outcome.nonFiniteSteps());
        Optional<String> stop = outcome.stopReason();
        if (stop.isPresent()) {
            return "Training stopped early after " + outcome.steps() + " steps: " + stop.get() + ". " + measured + "."
                    + " The last good weights are saved.";
        }
        return (e.learned() ? "The model learned: " : "The model did not learn: ") + measured + "." + guard;
    }
}
