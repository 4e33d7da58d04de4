package dev.gradguard.run;

import dev.gradguard.amp.GradScaler;
import dev.gradguard.amp.Precision;
import dev.gradguard.cli.spec.ClipSpecs;
import dev.gradguard.cli.spec.ControllerSpecs;
import dev.gradguard.cli.spec.DivergenceSpecs;
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
import dev.gradguard.guard.DivergenceStop;
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
        Torch.setThreads(settings.compute().threads());
        Torch.setFlushDenormal(settings.compute().flushDenormal());

        Task task = Tasks.create(settings.problem().name(), taskOptions(settings.problem()));
        String modelName = modelName(task, settings.problem());
        DistEnv distEnv = DistEnv.isLaunched(System.getenv()) ? DistEnv.fromEnvironment() : DistEnv.single();
        Device device = Devices.resolveForWorker(settings.compute().device(), distEnv.localRank());
        GradScaler scaler = gradScaler(settings.compute());
        checkPrecision(settings, task, modelName, device);
        GradientPipeline pipeline = ClipSpecs.parse(settings.guard().clip());
        Controller controller = ControllerSpecs.parse(settings.guard().controller(), pipeline);
        if (settings.checkpoints().rollback() > 0 && pipeline.transforms().stream()
                .noneMatch(t -> t instanceof SpikeGuard || t instanceof AbsoluteSpikeGuard)) {
            throw new IllegalArgumentException("--rollback needs a spike guard in --clip to say what a spike is "
                    + "(spike[:K], loss-spike[:K] or spike-abs:T, e.g. --clip spike:6,norm:1.0)");
        }
        OptimizerSpec optimizerSpec = optimizerSpec(settings.optimization());
        // a model file's sizes are its own: only a built-in model is estimated before it is made
        if (!modelName.equals(ModelFile.MODEL)) {
            task.footprint(modelName).requireFits(settings.loop().batchSize(),
                    optimizerSpec.name().equals("sgd") ? (optimizerSpec.momentum() > 0 ? 1 : 0) : 2);
        }
        var schedule = ScheduleSpecs.parse(settings.optimization().schedule(), settings.optimization().lr(), settings.loop().steps());
        DivergenceStop divergence = DivergenceSpecs.parse(settings.guard().divergenceStop());
        NonFiniteInjection injection = NonFiniteInjection.atSteps(new HashSet<>(settings.guard().injectNonfinite()));
        CheckpointPolicy checkpoints = new CheckpointPolicy(settings.checkpoints().checkpointEvery(),
                settings.checkpoints().keepCheckpoints(), settings.checkpoints().rollback());

        try (DataParallel parallel = DataParallel.init(distEnv, DistTimeouts.fromMap(System.getenv()), device.is_cuda())) {
            if (settings.loop().batchSize() % parallel.worldSize() != 0) {
                throw new IllegalArgumentException("'batch-size' " + settings.loop().batchSize() + " is the global batch and "
                        + "must be divisible by the " + parallel.worldSize() + " data-parallel workers");
            }
            torch.manual_seed(settings.loop().seed());
            Model model = createModel(task, modelName, settings);
            model.module().to(device, false);
            if (settings.loop().initFromPath().isPresent()) {
                SafeTensors.load(settings.loop().initFromPath().get(), model.module());
            }
            // the recorded configuration holds what the run really used, never "auto", "the task's default" or
            // "PyTorch's default"; the device stays as given, since each data-parallel rank resolves it to its own
            Map<String, Object> resolved = new LinkedHashMap<>(Map.of("model", modelName,
                    "weight-decay", optimizerSpec.weightDecay()));
            resolved.putAll(task.resolvedSizes(modelName));
            TrainSettings config = settings.with(resolved, "the task's resolved model");
            TrainingSession.Builder builder = TrainingSession.builder()
                    .model(model)
                    // each rank draws its own share of the global batch from its own stream
                    .data(task.trainingData(DataSharding.seedFor(settings.loop().seed(), parallel.rank()),
                            settings.loop().batchSize() / parallel.worldSize()))
                    .loss(task::loss)
                    .optimizer(optimizerSpec)
                    .schedule(schedule)
                    .clip(pipeline)
                    .controller(controller)
                    .maxNonFinite(settings.guard().maxNonfinite())
                    .divergenceStop(divergence)
                    .dataParallel(parallel)
                    .device(device)
                    .step(step -> step.gradBuffer(settings.compute().gradBuffer())
                            .gradSync(settings.compute().sync())
                            .accumulation(settings.loop().accumulate())
                            .injection(injection)
                            .precision(settings.compute().amp())
                            .gradScaler(scaler))
                    .runDirectory(out)
                    .resume(resume)
                    .overwrite(overwrite)
                    .checkpoints(checkpoints)
                    .parameterNormInterval(settings.metrics().gradNormEvery())
                    .labels(Map.of("task", task.name(), "model", modelName))
                    .config(config)
                    .evaluation(m -> task.evaluate(onDevice(m, device)));
            settings.metrics().tensorboardDirectory().ifPresent(builder::tensorBoardDirectory);
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
                SessionResult result = session.run(settings.loop().steps());
                afterRun.accept(result);
                return result;
            }
        }
    }

    /**
     * Checks what a run of {@code problem} checks before it makes its model: the task and its settings, its data
     * file (read whole), the model's name and its sizes. Needs no libtorch.
     *
     * @throws IllegalArgumentException naming the first setting the task or model rejects
     * @throws dev.gradguard.task.DataException for a bad data file
     */
    public static void checkProblem(ProblemSettings problem) {
        Task task = Tasks.create(problem.name(), taskOptions(problem));
        task.resolvedSizes(modelName(task, problem));
    }

    /**
     * The run's model name: the task's model ({@code auto} is its first), or {@link #ModelFile.MODEL} when the
     * settings name a {@code model-file}.
     *
     * @throws IllegalArgumentException when the task has no such model, or a model file comes with a built-in
     *     model's name or size
     */
    static String modelName(Task task, ProblemSettings settings) {
        if (settings.modelFilePath().isPresent()) {
            if (!settings.model().equals("auto") && !settings.model().equals(ModelFile.MODEL)) {
                throw new IllegalArgumentException("'model-file' is the model: leave out 'model' (" + settings.model() + ")");
            }
            if (settings.hiddenSize().isPresent()) {
                throw new IllegalArgumentException("'hidden' sizes a built-in model, and a 'model-file' model has its "
                        + "own sizes: leave out 'hidden'");
            }
            return ModelFile.MODEL;
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
        return settings.problem().modelFilePath().isPresent()
                ? ModelFile.load(settings.problem().modelFilePath().get(), task, settings.loop().seed())
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

    static TaskOptions taskOptions(ProblemSettings settings) {
        TaskOptions options = TaskOptions.defaults().withEvalSamples(settings.evalSamples());
        if (settings.hiddenSize().isPresent()) {
            options = options.withHidden(settings.hidden());
        }
        if (settings.layerCount().isPresent()) {
            options = options.withLayers(settings.layers());
        }
        if (settings.headCount().isPresent()) {
            options = options.withHeads(settings.heads());
        }
        if (settings.sequenceLength().isPresent()) {
            options = options.withLength(settings.length()).withSeqLen(settings.length());
        }
        if (settings.dataPath().isPresent()) {
            options = options.withDataPath(settings.dataPath().get());
        }
        return options;
    }

    /** fp16's loss scaler from the settings; a pass-through for fp32 and bf16, which take no loss-scale settings. */
    static GradScaler gradScaler(ComputeSettings settings) {
        Precision precision = settings.amp();
        if (precision.needsLossScaling()) {
            return new GradScaler(settings.lossScaleInit(), 2.0, 0.5, settings.lossScaleGrowthInterval(), true);
        }
        ComputeSettings defaults = ComputeSettings.DEFAULTS;
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
        Precision precision = settings.compute().amp();
        if (precision == Precision.FP32) {
            return;
        }
        try (PointerScope scope = new PointerScope()) {
            Model probe = createModel(task, modelName, settings);
            probe.module().to(device, false);
            org.bytedeco.pytorch.Tensor input = task.trainingData(settings.loop().seed(), 2).next().input();
            precision.checkForward(probe, modelName, input.to(device, input.scalar_type()), device);
        }
    }

    static OptimizerSpec optimizerSpec(OptimizationSettings settings) {
        OptimizerSpec spec = OptimizerSpec.defaults(settings.name(), settings.lr());
        if (spec.name().equals("sgd")) {
            spec = spec.withMomentum(settings.momentum()).withNesterov(settings.nesterov());
        } else if (settings.nesterov()) {
            throw new IllegalArgumentException("'nesterov' applies to --optimizer sgd only, not " + spec.name());
        }
        if (settings.weightDecay().value().isPresent()) {
            spec = spec.withWeightDecay(settings.weightDecay().value().getAsDouble());
        }
        return spec;
    }
}
