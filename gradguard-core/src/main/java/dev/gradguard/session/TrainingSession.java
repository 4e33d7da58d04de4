package dev.gradguard.session;

import dev.gradguard.checkpoint.Archives;
import dev.gradguard.checkpoint.CheckpointException;
import dev.gradguard.checkpoint.CheckpointStore;
import dev.gradguard.checkpoint.LoadedCheckpoint;
import dev.gradguard.clip.GradientPipeline;
import dev.gradguard.clip.GradientTransform;
import dev.gradguard.control.Controller;
import dev.gradguard.data.BatchSource;
import dev.gradguard.dist.DataParallel;
import dev.gradguard.engine.Devices;
import dev.gradguard.engine.Torch;
import dev.gradguard.guard.DivergenceStop;
import dev.gradguard.guard.NonFiniteGuard;
import dev.gradguard.io.AtomicFiles;
import dev.gradguard.metrics.Json;
import dev.gradguard.metrics.MetricsJsonlWriter;
import dev.gradguard.metrics.tensorboard.TensorBoardListener;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.optim.LibtorchOptimizer;
import dev.gradguard.optim.LrSchedule;
import dev.gradguard.optim.OptimizerSpec;
import dev.gradguard.optim.Optimizers;
import dev.gradguard.optim.Schedules;
import dev.gradguard.optim.TrainingOptimizer;
import dev.gradguard.train.LossFunction;
import dev.gradguard.train.StepResult;
import dev.gradguard.train.Trainer;
import dev.gradguard.train.TrainingListener;
import dev.gradguard.train.TrainingOutcome;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;

/**
 * A whole training run for any model: the guarded {@link Trainer} plus what a real run needs around it. With a
 * run directory, the session
 * <ul>
 *   <li>claims the directory ({@link RunDirectory}: a marker naming every file the run writes, and a lock that
 *       keeps a second process out);</li>
 *   <li>writes {@code config.json}, {@code metrics.jsonl} (one line per step) and a TensorBoard event file;</li>
 *   <li>saves a checkpoint every {@link CheckpointPolicy#every()} steps and at the end, keeping the newest few,
 *       and rolls back to the newest on a spike when asked to;</li>
 *   <li>resumes from the newest valid checkpoint: the checkpoint is loaded and checked in full before any file
 *       is touched, then {@code metrics.jsonl} and the event file are cut back to it, so every step appears
 *       once;</li>
 *   <li>stops in order on SIGINT/SIGTERM or {@link #requestStop}, with a checkpoint; in data-parallel training
 *       every rank stops before the same step;</li>
 *   <li>saves the final weights ({@code model.pt}), evaluates the model when given an evaluation, and writes
 *       {@code summary.json}.</li>
 * </ul>
 * Without a run directory it trains and returns the same {@link SessionResult}, writing nothing.
 *
 * <pre>{@code
 * try (TrainingSession session = TrainingSession.builder()
 *         .model(model).data(batches).loss(torch::mse_loss).optimizer(OptimizerSpec.adamw(1e-3))
 *         .clip(Clip.norm(1.0))
 *         .runDirectory(Path.of("runs/mine")).checkpoints(new CheckpointPolicy(100, 3, 0))
 *         .build()) {
 *     SessionResult result = session.run(1000);
 * }
 * }</pre>
 *
 * <p>Messages (resumed, checkpoint skipped, rolled back) go to {@link System.Logger}s named after the session's
 * classes; the library writes nothing to standard output or error. Not thread-safe, except
 * {@link #requestStop}.
 */
public final class TrainingSession implements AutoCloseable {
    private static final Logger LOG = System.getLogger(TrainingSession.class.getName());

    private final Builder settings;
    private final Trainer trainer;
    private final DataParallel parallel;
    private final Outputs outputs;
    private StopOnSignal signals = StopOnSignal.none();
    private boolean ran;

    private TrainingSession(Builder b, Trainer trainer, Outputs outputs) {
        this.settings = b;
        this.trainer = trainer;
        this.parallel = b.parallel;
        this.outputs = outputs;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The trainer the session drives. */
    public Trainer trainer() {
        return trainer;
    }

    /** Asks the run to stop after the step in progress, with a checkpoint; safe from any thread. */
    public void requestStop(String reason) {
        trainer.requestStop(reason);
    }

    /**
     * Whether a signal asked this process to stop (the JVM exits after {@link #close()} then).
     */
    public boolean signalled() {
        return signals.requested();
    }

    /**
     * Trains until {@code totalSteps} steps have run in all (a resumed run continues from its checkpoint's step),
     * or until the guard, a rollback limit or a stop request ends the run. Call once.
     *
     * @return what happened; also written to {@code summary.json} when the session has a run directory
     * @throws IllegalArgumentException when the run directory cannot be claimed (see {@link RunDirectory#open})
     * @throws dev.gradguard.checkpoint.CheckpointException when resuming finds no valid checkpoint, or one that
     *     does not fit the model and optimizer; nothing in the run directory has changed then
     * @throws IOException when the run directory cannot be written
     */
    public SessionResult run(long totalSteps) throws IOException {
        if (ran) {
            throw new IllegalStateException("a session runs once; build a new one");
        }
        ran = true;
        if (totalSteps < 0) {
            throw new IllegalArgumentException("totalSteps must be >= 0, got " + totalSteps);
        }
        long start = System.nanoTime();
        boolean main = parallel.isMain();
        if (settings.runDirectory.isEmpty()) {
            return finish(totalSteps, start, null, null, Optional.empty());
        }
        RunDirectory.Mode mode = !main ? RunDirectory.Mode.READ_ONLY
                : settings.resume ? RunDirectory.Mode.RESUME
                : settings.overwrite ? RunDirectory.Mode.OVERWRITE : RunDirectory.Mode.CREATE;
        try (RunDirectory run = RunDirectory.open(settings.runDirectory.get(), mode)) {
            if (main) {
                run.recordCheckpoints(); // refused here, before training, when it is a link or a file
            }
            SessionCheckpoints checkpoints = new SessionCheckpoints(run, settings.checkpoints, settings.labels,
                    settings.tensorBoardDirectory, settings.parameterNormInterval, parallel);
            checkpoints.attach(trainer);
            outputs.checkpoints = checkpoints;
            Optional<LoadedCheckpoint> restored = Optional.empty();
            if (settings.resume) {
                LoadedCheckpoint c = checkpoints.newestValid();
                c.checkModel(trainer.model().module());
                c.checkOptimizer(trainer.optimizer());
                if (main) {
                    checkpoints.checkResumable(c); // rank 0 alone writes metrics.jsonl and the event file
                }
                // loaded and validated in full before any file of the run changes
                checkpoints.restore(c, trainer);
                restored = Optional.of(c);
            } else if (main) {
                run.record(run.config());
                AtomicFiles.writeString(run.config(), Json.pretty().writeValueAsString(settings.config) + "\n");
            }
            try (MetricsJsonlWriter metrics = main ? checkpoints.openMetrics(restored) : null;
                    TensorBoardListener tensorboard = main ? checkpoints.openTensorBoard(restored) : null) {
                outputs.metrics = metrics;
                outputs.tensorboard = tensorboard;
                checkpoints.attachOutputs(metrics, tensorboard);
                restored.ifPresent(c -> LOG.log(Level.INFO, "resumed from " + c.directory() + " at step " + c.step()));
                return finish(totalSteps, start, run, checkpoints, restored.map(LoadedCheckpoint::step));
            } finally {
                outputs.metrics = null;
                outputs.tensorboard = null;
            }
        }
    }

    private SessionResult finish(long totalSteps, long start, RunDirectory run, SessionCheckpoints checkpoints,
            Optional<Long> resumedFrom) throws IOException {
        boolean main = parallel.isMain();
        TrainingOutcome outcome;
        boolean interrupted;
        if (settings.handleSignals) {
            signals = StopOnSignal.install(trainer);
        }
        outcome = trainer.run(totalSteps);
        if (checkpoints != null) {
            checkpoints.saveFinal();
        }
        // every rank stopped before the same step (Trainer.run agrees on it), so every rank asks
        interrupted = parallel.anyTrue(signals.requested());
        if (interrupted) {
            return result(outcome, Optional.empty(), checksum(), List.of(), resumedFrom, checkpoints, true, start, run);
        }
        // the weights do not change after this: one checksum serves the ranks' agreement and the summary
        String checksum = checksum();
        List<String> rankChecksums = parallel.gatherChecksums(checksum);
        Optional<Evaluation> evaluation = Optional.empty();
        if (main) {
            if (run != null) {
                saveWeights(run);
            }
            if (settings.evaluation != null) {
                try (PointerScope scope = new PointerScope()) {
                    evaluation = Optional.of(settings.evaluation.apply(trainer.model()));
                }
                if (outputs.tensorboard != null) {
                    outputs.tensorboard.addEval(evaluation.get().metric(), evaluation.get().value(), outcome.steps());
                    outputs.tensorboard.addHParams(configMap(),
                            List.of("eval/" + evaluation.get().metric(), "train/loss"), outcome.completed());
                }
            }
        }
        return result(outcome, evaluation, checksum, rankChecksums, resumedFrom, checkpoints, false, start, run);
    }

    /** SHA-256 of the float32 parameter bytes in {@code named_parameters()} order. */
    private String checksum() {
        return Parameters.of(trainer.model().module()).checksum();
    }

    private SessionResult result(TrainingOutcome outcome, Optional<Evaluation> evaluation, String checksum,
            List<String> rankChecksums, Optional<Long> resumedFrom, SessionCheckpoints checkpoints, boolean interrupted,
            long start, RunDirectory run) throws IOException {
        Parameters parameters = Parameters.of(trainer.model().module());
        SessionResult result = new SessionResult(settings.labels, outcome, evaluation, parameters.allFinite(),
                checksum, parameters.numel(), resumedFrom,
                checkpoints == null ? List.of() : checkpoints.rollbacks(), parallel.worldSize(), parallel.rank(),
                rankChecksums, interrupted, trainer.controller().lrScale(),
                trainer.scaler().enabled() ? Optional.of(trainer.scaler().scale()) : Optional.empty(),
                Devices.name(settings.device), Torch.version(), (System.nanoTime() - start) / 1e9,
                run == null ? Optional.empty() : Optional.of(run.path()),
                checkpoints == null ? Optional.empty() : Optional.of(checkpoints.store().directory()), settings.config);
        if (run != null && parallel.isMain()) {
            if (interrupted) {
                // the closed writers are flushed; the checkpoint is saved; the summary says where to resume
                outputs.close();
            }
            run.record(run.summary());
            AtomicFiles.writeString(run.summary(), Json.pretty().writeValueAsString(result.summary()) + "\n");
        }
        return result;
    }

    /** The application's configuration as a JSON object's fields (empty when it is not an object). */
    @SuppressWarnings("unchecked")
    private Map<String, Object> configMap() {
        Object value = Json.compact().convertValue(settings.config, Object.class);
        return value instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    /** Writes model.pt whole or not at all; a failed write (a full disk) leaves the earlier file as it was. */
    private void saveWeights(RunDirectory run) throws IOException {
        Path target = run.weights();
        run.record(target);
        OutputArchive archive = new OutputArchive();
        trainer.model().module().save(archive);
        try {
            AtomicFiles.write(target, Archives.bytes(archive));
        } catch (IOException e) {
            throw new CheckpointException(target, "could not be written: " + e.getMessage()
                    + CheckpointStore.freeSpace(target.toAbsolutePath().getParent()), e);
        }
    }

    /**
     * Ends the session: the gradient buffer's views are unbound, and the signal handler is removed. After a
     * signal, the JVM exits (130 for SIGINT, 143 for SIGTERM) once this returns, so say what is to be said first.
     */
    @Override
    public void close() {
        trainer.close();
        signals.close();
    }

    /**
     * The session's listener in the trainer: it forwards to the metrics and TensorBoard writers once the session
     * has opened them, which is only after a resumed checkpoint has been fully loaded.
     */
    private static final class Outputs implements TrainingListener {
        MetricsJsonlWriter metrics;
        TensorBoardListener tensorboard;
        SessionCheckpoints checkpoints;

        private List<TrainingListener> targets() {
            List<TrainingListener> out = new ArrayList<>(3);
            if (metrics != null) {
                out.add(metrics);
            }
            if (tensorboard != null) {
                out.add(tensorboard);
            }
            if (checkpoints != null) {
                out.add(checkpoints);
            }
            return out;
        }

        @Override
        public void onTrainStart(Trainer trainer, long totalSteps) {
            targets().forEach(t -> t.onTrainStart(trainer, totalSteps));
        }

        @Override
        public void onGradients(long step, Parameters parameters) {
            targets().forEach(t -> t.onGradients(step, parameters));
        }

        @Override
        public void onStep(StepResult result) {
            targets().forEach(t -> t.onStep(result));
        }

        @Override
        public void onTrainEnd(TrainingOutcome outcome) {
            targets().forEach(t -> t.onTrainEnd(outcome));
        }

        void close() throws IOException {
            if (metrics != null) {
                metrics.close();
            }
            if (tensorboard != null) {
                tensorboard.close();
            }
        }
    }

    /**
     * Assembles a session. Model, data, loss and optimizer are required; everything else has a default: a constant
     * learning rate at the optimizer's own, no clipping, the guard's default patience, no controller, one process,
     * the CPU, float32, and no run directory (nothing written).
     */
    public static final class Builder {
        private final Trainer.Builder trainer = Trainer.builder();
        private Model model;
        private TrainingOptimizer optimizer;
        private OptimizerSpec optimizerSpec;
        private LrSchedule schedule;
        private DataParallel parallel = DataParallel.single();
        private Device device = new Device("cpu");
        private Optional<Path> runDirectory = Optional.empty();
        private boolean resume;
        private boolean overwrite;
        private CheckpointPolicy checkpoints = CheckpointPolicy.AT_END;
        private Optional<Path> tensorBoardDirectory = Optional.empty();
        private int parameterNormInterval = TensorBoardListener.DEFAULT_PARAMETER_NORM_INTERVAL;
        private Map<String, String> labels = Map.of();
        private Object config = Map.of();
        private Function<Model, Evaluation> evaluation;
        private boolean handleSignals = true;
        private final List<TrainingListener> listeners = new ArrayList<>();

        private Builder() {
        }

        /** The model to train (required). */
        public Builder model(Model model) {
            this.model = Objects.requireNonNull(model, "model");
            trainer.model(model);
            return this;
        }

        /** The training batches (required). */
        public Builder data(BatchSource data) {
            trainer.data(Objects.requireNonNull(data, "data"));
            return this;
        }

        /** The loss of a batch: {@code (output, target) -> scalar} (required). */
        public Builder loss(LossFunction loss) {
            trainer.loss(Objects.requireNonNull(loss, "loss"));
            return this;
        }

        /**
         * gradguard's optimizer, as {@code spec} says, over the model's parameters, built by {@link #build}
         * ({@link Optimizers#create}): the cheapest update check. This or another {@code optimizer} is required.
         */
        public Builder optimizer(OptimizerSpec spec) {
            this.optimizerSpec = Objects.requireNonNull(spec, "spec");
            this.optimizer = null;
            return this;
        }

        /**
         * An optimizer over the model's parameters ({@link #build} checks that they are the model's): gradguard's
         * own, or a libtorch one through {@link LibtorchOptimizer#of}.
         */
        public Builder optimizer(TrainingOptimizer optimizer) {
            this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
            this.optimizerSpec = null;
            return this;
        }

        /**
         * A libtorch optimizer over the model's parameters ({@link #build} checks that they are the model's); its
         * update check saves the optimizer state to an in-memory archive before every step, where gradguard's
         * ({@link #optimizer(OptimizerSpec)}) copies its state tensors.
         */
        public Builder optimizer(Optimizer optimizer) {
            return optimizer(LibtorchOptimizer.of(optimizer));
        }

        /** The learning-rate schedule; default: constant at the optimizer's learning rate. */
        public Builder schedule(LrSchedule schedule) {
            this.schedule = Objects.requireNonNull(schedule, "schedule");
            return this;
        }

        /** The gradient pipeline (clipping policies, applied in order); default: none. */
        public Builder clip(GradientPipeline pipeline) {
            trainer.pipeline(Objects.requireNonNull(pipeline, "pipeline"));
            return this;
        }

        /** The gradient policies, applied in order (e.g. {@code Clip.spike(6), Clip.norm(1.0)}). */
        public Builder clip(GradientTransform... transforms) {
            return clip(GradientPipeline.of(List.of(transforms)));
        }

        /** The learning-rate and threshold controller; default: none. */
        public Builder controller(Controller controller) {
            trainer.controller(Objects.requireNonNull(controller, "controller"));
            return this;
        }

        /** Stop after this many non-finite steps in a row (default {@value NonFiniteGuard#DEFAULT_MAX_CONSECUTIVE}). */
        public Builder maxNonFinite(int consecutive) {
            trainer.guard(new NonFiniteGuard(consecutive));
            return this;
        }

        /** What ends a run whose loss runs away while staying finite (default: {@link DivergenceStop#off()}). */
        public Builder divergenceStop(DivergenceStop stop) {
            trainer.divergenceStop(stop);
            return this;
        }

        /** The data-parallel group the session trains in (default: one process); its creator closes it. */
        public Builder dataParallel(DataParallel parallel) {
            this.parallel = Objects.requireNonNull(parallel, "parallel");
            trainer.dataParallel(parallel);
            return this;
        }

        /** The device the model is on (default: the CPU); batches are moved there in each step. */
        public Builder device(Device device) {
            this.device = Objects.requireNonNull(device, "device");
            trainer.device(device);
            return this;
        }

        /** The rest of the step's settings (precision, loss scaling, accumulation, gradient buffer, sync). */
        public Builder step(Consumer<Trainer.Builder> configure) {
            configure.accept(trainer);
            return this;
        }

        /** A listener of every step, called after the session's own (metrics, TensorBoard, checkpoints). */
        public Builder listener(TrainingListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /** Where the run's files go; without one the session writes nothing. */
        public Builder runDirectory(Path directory) {
            this.runDirectory = Optional.of(directory);
            return this;
        }

        /** Continue the run in the run directory from its newest valid checkpoint (default: a new run). */
        public Builder resume(boolean resume) {
            this.resume = resume;
            return this;
        }

        /** Replace an earlier run's files in the run directory (only its own; default: refuse a used directory). */
        public Builder overwrite(boolean overwrite) {
            this.overwrite = overwrite;
            return this;
        }

        /** When checkpoints are saved and kept, and rollbacks on spikes (default {@link CheckpointPolicy#AT_END}). */
        public Builder checkpoints(CheckpointPolicy policy) {
            this.checkpoints = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** Where TensorBoard event files go (default: the run directory). */
        public Builder tensorBoardDirectory(Path directory) {
            this.tensorBoardDirectory = Optional.of(directory);
            return this;
        }

        /**
         * How often per-parameter gradient norms go to TensorBoard, in steps (default 100); 0 for never.
         *
         * @throws IllegalArgumentException if {@code steps} is negative
         */
        public Builder parameterNormInterval(int steps) {
            if (steps < 0) {
                throw new IllegalArgumentException("parameterNormInterval must be 0 (never) or positive, got " + steps);
            }
            this.parameterNormInterval = steps;
            return this;
        }

        /** What the run is, e.g. {@code task} and {@code model}: first in the summary, and in every checkpoint. */
        public Builder labels(Map<String, String> labels) {
            this.labels = Map.copyOf(labels);
            return this;
        }

        /** The run's configuration as the application sees it (any JSON-serializable value): config.json. */
        public Builder config(Object config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /** How the trained model is judged on held-out data at the end (default: not judged). */
        public Builder evaluation(Function<Model, Evaluation> evaluation) {
            this.evaluation = Objects.requireNonNull(evaluation, "evaluation");
            return this;
        }

        /** Whether SIGINT/SIGTERM stop the run in order with a checkpoint (default true). */
        public Builder handleSignals(boolean handle) {
            this.handleSignals = handle;
            return this;
        }

        /**
         * Checks the settings and builds the session (and its trainer, which binds the gradient buffer and, in
         * data-parallel training, broadcasts rank 0's parameters).
         *
         * @throws IllegalArgumentException when a required part is missing, the model has no trainable
         *     parameter, the optimizer's parameters are not the model's, or resume and overwrite are both asked
         */
        public TrainingSession build() {
            require(model, "model");
            require(optimizer != null ? optimizer : optimizerSpec, "optimizer");
            if (resume && overwrite) {
                throw new IllegalArgumentException("resume and overwrite contradict each other: pick one");
            }
            if (resume && runDirectory.isEmpty()) {
                throw new IllegalArgumentException("resume needs the run directory of the run to continue");
            }
            Parameters parameters = Parameters.of(model.module());
            if (parameters.size() == 0) {
                throw new IllegalArgumentException("the model has no trainable parameter");
            }
            Parameters.firstNonFiniteState(model.module()).ifPresent(name -> {
                throw new IllegalArgumentException("the model's " + name + " holds NaN or an infinity: training "
                        + "starts only from finite weights, which the guard then keeps finite");
            });
            TrainingOptimizer chosen = optimizer != null ? optimizer : Optimizers.create(optimizerSpec, parameters);
            checkOptimizerOwnsModel(chosen, parameters);
            trainer.optimizer(chosen);
            trainer.schedule(schedule != null ? schedule : Schedules.constant(chosen.lr()));
            Outputs outputs = new Outputs();
            trainer.listener(outputs);
            listeners.forEach(trainer::listener);
            return new TrainingSession(this, trainer.build(), outputs);
        }

        private static void require(Object part, String name) {
            if (part == null) {
                throw new IllegalArgumentException(name + " is required: set it on the builder");
            }
        }

        /** Every parameter the optimizer updates is one of the model's, and every trainable one is updated. */
        private static void checkOptimizerOwnsModel(TrainingOptimizer optimizer, Parameters parameters) {
            Set<Long> model = new HashSet<>();
            for (Tensor p : parameters) {
                model.add(p.data_ptr().address());
            }
            Set<Long> optimized = new HashSet<>();
            for (Tensor p : optimizer.parameters()) {
                long address = p.data_ptr().address();
                if (!model.contains(address)) {
                    throw new IllegalArgumentException("the optimizer updates a tensor that is not one of the "
                            + "model's parameters: build the optimizer over the model's parameters");
                }
                optimized.add(address);
            }
            for (int i = 0; i < parameters.size(); i++) {
                if (!optimized.contains(parameters.get(i).data_ptr().address())) {
                    throw new IllegalArgumentException("the optimizer does not update the model's parameter '"
                            + parameters.name(i) + "': build the optimizer over all of the model's parameters");
                }
            }
        }
    }
}
