package dev.gradguard.run;

import dev.gradguard.amp.GradScaler;
import dev.gradguard.amp.Precision;
import dev.gradguard.cli.spec.ClipSpecs;
import dev.gradguard.cli.spec.ControllerSpecs;
import dev.gradguard.cli.spec.ScheduleSpecs;
import dev.gradguard.clip.AbsoluteSpikeGuard;
import dev.gradguard.clip.GradientPipeline;
import dev.gradguard.clip.SpikeGuard;
import dev.gradguard.control.Controller;
import dev.gradguard.dist.DataParallel;
import dev.gradguard.dist.DataSharding;
import dev.gradguard.dist.DistEnv;
import dev.gradguard.dist.DistTimeouts;
import dev.gradguard.engine.Devices;
import dev.gradguard.engine.Torch;
import dev.gradguard.interop.SafeTensors;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.optim.OptimizerSpec;
import dev.gradguard.session.CheckpointPolicy;
import dev.gradguard.session.SessionResult;
import dev.gradguard.session.TrainingSession;
import dev.gradguard.task.ModelFile;
import dev.gradguard.task.Task;
import dev.gradguard.task.TaskOptions;
import dev.gradguard.task.Tasks;
import dev.gradguard.train.NonFiniteInjection;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/**
 * The CLI's {@code train}: turns {@link TrainSettings} into the task's model and data, an optimizer, a schedule,
 * a clip pipeline and a controller, and hands them to a {@link TrainingSession}, which owns the run.
 */
public final class TrainJob {
    /** The {@code model} a run with a {@code model-file} records. */
    static final String SCRIPTED_MODEL = "torchscript";

    private TrainJob() {
    }

    /**
     * What the CLI does after the run: say the sentence, then end the session (after a signal the JVM exits then).
     */
    public interface AfterRun {
        void accept(SessionResult result) throws IOException;
    }

    /**
     * Runs the job, or resumes it from the newest valid checkpoint in the run directory. Every setting is checked
     * (and a data file read) before the run directory is created or touched, so a bad input leaves nothing behind.
     *
     * @param out the run directory
     * @param overwrite whether an earlier run in {@code out} may be replaced
     * @param resume whether to continue from the run's newest valid checkpoint
     * @param progress where progress goes, or {@code null} for none
     * @param terminal whether {@code progress} is a terminal (a redrawn bar) or a log (periodic lines)
     * @param afterRun what to do with the result before the session ends
     * @throws IllegalArgumentException for settings the task, optimizer, schedule or clip policy reject, or a run
     *     directory that cannot be claimed
     * @throws dev.gradguard.task.DataException for a bad data file
     * @throws dev.gradguard.checkpoint.CheckpointException when resuming finds no valid checkpoint, or one that
     *     does not fit this run
     * @throws IOException when the run directory cannot be written
     */
    public static SessionResult run(TrainSettings settings, Path out, boolean overwrite, PrintStream progress,
            boolean terminal, boolean resume, AfterRun afterRun) throws IOException {
        Torch.load();
        Torch.setThreads(settings.threads());
        Torch.setFlushDenormal(settings.flushDenormal());

        Task task = Tasks.create(settings.task(), taskOptions(settings));
        String modelName = modelName(task, settings);
        DistEnv distEnv = DistEnv.isLaunched(System.getenv()) ? DistEnv.fromEnvironment() : DistEnv.single();
        Device device = Devices.resolveForWorker(settings.device(), distEnv.localRank());
        GradScaler scaler = gradScaler(settings);
        checkPrecision(settings, task, modelName, device);
        GradientPipeline pipeline = ClipSpecs.parse(settings.clip());
        Controller controller = ControllerSpecs.parse(settings.controller(), pipeline);
        if (settings.rollback() > 0 && pipeline.transforms().stream()
                .noneMatch(t -> t instanceof SpikeGuard || t instanceof AbsoluteSpikeGuard)) {
            throw new IllegalArgumentException("--rollback needs a spike guard in --clip to say what a spike is "
                    + "(spike[:K], loss-spike[:K] or spike-abs:T, e.g. --clip spike:6,norm:1.0)");
        }
        OptimizerSpec optimizerSpec = optimizerSpec(settings);
        // a model file's sizes are its own: only a built-in model is estimated before it is made
        if (!modelName.equals(SCRIPTED_MODEL)) {
            task.footprint(modelName).requireFits(settings.batchSize(),
                    optimizerSpec.name().equals("sgd") ? (optimizerSpec.momentum() > 0 ? 1 : 0) : 2);
        }
        var schedule = ScheduleSpecs.parse(settings.schedule(), settings.lr(), settings.steps());
        NonFiniteInjection injection = NonFiniteInjection.atSteps(new HashSet<>(settings.injectNonfinite()));
        CheckpointPolicy checkpoints = new CheckpointPolicy(settings.checkpointEvery(), settings.keepCheckpoints(),
                settings.rollback());

        try (DataParallel parallel = DataParallel.init(distEnv, DistTimeouts.fromMap(System.getenv()), device.is_cuda())) {
            if (settings.batchSize() % parallel.worldSize() != 0) {
                throw new IllegalArgumentException("'batch-size' " + settings.batchSize() + " is the global batch and "
                        + "must be divisible by the " + parallel.worldSize() + " data-parallel workers");
            }
            torch.manual_seed(settings.seed());
            Model model = createModel(task, modelName, settings);
            model.module().to(device, false);
            if (settings.initFrom().isPresent()) {
                SafeTensors.load(settings.initFrom().get(), model.module());
            }
            // the recorded configuration holds what the run really used, never "auto" or "the task's default"
            Map<String, Object> config = new LinkedHashMap<>(settings.asMap());
            config.put("model", modelName);
            if (!modelName.equals(SCRIPTED_MODEL)) {
                config.putAll(task.resolvedSizes(modelName));
            }
            TrainingSession.Builder builder = TrainingSession.builder()
                    .model(model)
                    // each rank draws its own share of the global batch from its own stream
                    .data(task.trainingData(DataSharding.seedFor(settings.seed(), parallel.rank()),
                            settings.batchSize() / parallel.worldSize()))
                    .loss(task::loss)
                    .optimizer(optimizerSpec)
                    .schedule(schedule)
                    .clip(pipeline)
                    .controller(controller)
                    .maxNonFinite(settings.maxNonfinite())
                    .dataParallel(parallel)
                    .device(device)
                    .step(step -> step.gradBuffer(settings.gradBuffer())
                            .gradSync(settings.gradSync())
                            .accumulation(settings.accumulate())
                            .injection(injection)
                            .precision(settings.precision())
                            .gradScaler(scaler))
                    .runDirectory(out)
                    .resume(resume)
                    .overwrite(overwrite)
                    .checkpoints(checkpoints)
                    .parameterNormInterval(settings.gradNormEvery())
                    .labels(Map.of("task", task.name(), "model", modelName))
                    .config(config)
                    .evaluation(m -> task.evaluate(onDevice(m, device)));
            settings.tensorboard().ifPresent(builder::tensorBoardDirectory);
            if (parallel.isMain() && progress != null) {
                builder.listener(new ConsoleProgress(progress, terminal, List.of(
                        String.format(Locale.ROOT, "gradguard: %s %s/%s, %,d parameters, on %s with %d thread(s)%s, into %s",
                                resume ? "resuming" : "training", task.name(), modelName,
                                Parameters.of(model.module()).numel(), Devices.name(device), Torch.threads(),
                                parallel.worldSize() > 1 ? " x " + parallel.worldSize() + " ranks" : "", out),
                        "gradguard: watch it: tensorboard --logdir " + out + "   (or: gradguard serve "
                                + out.toAbsolutePath().getParent() + ")")));
            }
            try (TrainingSession session = builder.build()) {
                SessionResult result = session.run(settings.steps());
                afterRun.accept(result);
                return result;
            }
        }
    }

    /**
     * The run's model name: the task's model ({@code auto} is its first), or {@link #SCRIPTED_MODEL} when the
     * settings name a {@code model-file}.
     *
     * @throws IllegalArgumentException when the task has no such model, or a model file comes with a built-in
     *     model's name or size
     */
    static String modelName(Task task, TrainSettings settings) {
        if (settings.modelFile().isPresent()) {
            if (!settings.model().equals("auto") && !settings.model().equals(SCRIPTED_MODEL)) {
                throw new IllegalArgumentException("'model-file' is the model: leave out 'model' (" + settings.model() + ")");
            }
            if (settings.hidden().isPresent()) {
                throw new IllegalArgumentException("'hidden' sizes a built-in model, and a 'model-file' model has its "
                        + "own sizes: leave out 'hidden'");
            }
            return SCRIPTED_MODEL;
        }
        String modelName = settings.model().equals("auto") ? task.models().get(0) : settings.model();
        if (!task.models().contains(modelName)) {
            throw new IllegalArgumentException("task " + task.name() + " has no model '" + modelName
                    + "' (allowed: " + String.join(", ", task.models()) + ", auto)");
        }
        return modelName;
    }

    /**
     * A new model for the run: the task's {@code modelName}, or the settings' {@code model-file} checked against
     * the task's contract ({@link ModelFile}).
     */
    static Model createModel(Task task, String modelName, TrainSettings settings) {
        return settings.modelFile().isPresent() ? ModelFile.load(settings.modelFile().get(), task, settings.seed())
                : task.createModel(modelName);
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
        if (settings.layers().isPresent()) {
            options = options.withLayers(settings.layers().getAsInt());
        }
        if (settings.heads().isPresent()) {
            options = options.withHeads(settings.heads().getAsInt());
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
    private static void checkPrecision(TrainSettings settings, Task task, String modelName, Device device) {
        Precision precision = settings.precision();
        if (precision == Precision.FP32) {
            return;
        }
        try (PointerScope scope = new PointerScope()) {
            Model probe = createModel(task, modelName, settings);
            probe.module().to(device, false);
            org.bytedeco.pytorch.Tensor input = task.trainingData(settings.seed(), 2).next().input();
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
}
