package dev.gradguard.train;

import dev.gradguard.amp.Autocast;
import dev.gradguard.amp.GradScaler;
import dev.gradguard.amp.Precision;
import dev.gradguard.clip.GradBuffer;
import dev.gradguard.clip.GradientOps;
import dev.gradguard.clip.GradientPipeline;
import dev.gradguard.clip.PipelineReport;
import dev.gradguard.control.ControlDecision;
import dev.gradguard.control.Controller;
import dev.gradguard.control.Controllers;
import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.dist.DataParallel;
import dev.gradguard.dist.GradSync;
import dev.gradguard.guard.DivergenceStop;
import dev.gradguard.guard.GuardDecision;
import dev.gradguard.guard.LayerAttribution;
import dev.gradguard.guard.LayerAttributor;
import dev.gradguard.guard.NonFiniteGuard;
import dev.gradguard.guard.TrainingDivergedException;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.optim.LibtorchOptimizer;
import dev.gradguard.optim.LrSchedule;
import dev.gradguard.optim.TrainingOptimizer;
import dev.gradguard.state.StateMaps;
import dev.gradguard.state.Stateful;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The guarded training loop. {@link #step()} is the whole order of a step, top to bottom; nothing
 * reorders it. Build one with {@link #builder()}.
 *
 * <p>Gradients: by default every parameter's gradient is bound as a view into one flat
 * {@link GradBuffer} per (device, dtype), so backward accumulates straight into it and clipping costs one
 * reduction and at most one multiply per buffer ({@link Builder#gradBuffer(boolean)} turns it off). With
 * the buffer bound, {@code Optimizer.zero_grad()} throws on the views; the trainer zeroes the buffer itself.
 * A parameter that a step's backward passes do not reach (a branch the forward pass did not take) holds a
 * zero gradient then, where PyTorch's {@code zero_grad()} leaves {@code None}; the trainer records which
 * parameters received a gradient (hooks on their gradient accumulators) and keeps the others out of the
 * optimizer step, as PyTorch does, with or without the buffer.
 *
 * <p>Mixed precision ({@link Builder#precision}): the forward pass and the loss run under {@link Autocast} in
 * bfloat16 or float16, while parameters, gradients and optimizer state stay float32. With float16 a
 * {@link GradScaler} scales the loss before backward and unscales the gradients before anything reads them.
 *
 * <p>Native memory: each step runs in its own {@link PointerScope}, so every tensor a step creates is
 * released when it ends and RSS stays flat over long runs. Parameters, optimizer state and anything else
 * that outlives a step are created outside it.
 *
 * <p>Host syncs: on a GPU a step synchronizes with the device where it reads the loss (once, summed over
 * the micro-batches on the device) and the gradient norm back (the guard needs them to decide before the
 * optimizer steps), like PyTorch's GradScaler does when it checks for infinities; in fp16 once more, where
 * the scaler reads whether any gradient overflowed.
 *
 * <p>Not thread-safe: one thread drives a trainer.
 */
public final class Trainer implements Stateful, AutoCloseable {
    /** How many recent applied steps {@link TrainingOutcome#finalLoss()} averages. */
    public static final int FINAL_LOSS_WINDOW = 50;

    private final Model model;
    private final Parameters parameters;
    private final BatchSource data;
    private final LossFunction lossFunction;
    private final TrainingOptimizer optimizer;
    private final LrSchedule schedule;
    private final GradientPipeline pipeline;
    private final NonFiniteGuard guard;
    private final DivergenceStop divergence;
    private final Controller controller;
    private final LayerAttributor attributor;
    private final int accumulation;
    private final NonFiniteInjection injection;
    private final List<TrainingListener> listeners;
    private final Optional<GradBuffer> buffer;
    private final GradientOps gradients;
    private final DataParallel parallel;
    private final Device device;
    private final Precision precision;
    private final GradScaler scaler;
    private final boolean checkUpdate;
    /** Each of the model's parameters' index in the optimizer's list, or null when the orders agree. */
    private final int[] optimizerIndex;
    private final GradientArrivals arrivals;

    private volatile String stopRequest;
    private String stopAfterStep;
    private boolean agreedStop;
    private long step;
    private long clippedSteps;
    private final ArrayDeque<Double> recentLosses = new ArrayDeque<>();

    private Trainer(Builder b) {
        this.model = Objects.requireNonNull(b.model, "model");
        this.parameters = Parameters.of(model.module());
        this.data = Objects.requireNonNull(b.data, "data");
        this.lossFunction = Objects.requireNonNull(b.loss, "loss");
        this.optimizer = Objects.requireNonNull(b.optimizer, "optimizer");
        this.schedule = Objects.requireNonNull(b.schedule, "schedule");
        this.pipeline = b.pipeline;
        this.guard = b.guard;
        this.divergence = b.divergence;
        this.controller = b.controller;
        this.attributor = b.attributor;
        this.accumulation = b.accumulation;
        this.injection = b.injection;
        this.listeners = List.copyOf(b.listeners);
        this.parallel = b.parallel;
        this.device = b.device;
        this.precision = b.precision;
        this.scaler = b.scaler();
        parallel.broadcast(parameters);
        this.buffer = b.gradBuffer ? Optional.of(GradBuffer.bind(parameters)) : Optional.empty();
        parallel.useGradSync(b.gradSync, parameters);
        this.gradients = buffer.map(GradientOps::of).orElseGet(() -> GradientOps.of(parameters));
        this.checkUpdate = b.checkUpdate;
        this.optimizerIndex = optimizerIndex(parameters, optimizer);
        this.arrivals = new GradientArrivals(parameters);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Runs one training step:
     * <ol>
     *   <li>zero the gradients (in place, so the gradient buffer's views stay bound);</li>
     *   <li>for each micro-batch: forward and loss (under autocast in bf16 or fp16), backward (gradients
     *       accumulate; the loss is divided by the number of micro-batches so the gradient is their mean, and
     *       multiplied by the loss scale in fp16); then, in data-parallel training, the gradients are averaged
     *       over the ranks, once, for the last micro-batch: after its backward (flat all-reduce) or during it
     *       (DDP's Reducer, prepared before its forward and backward);</li>
     *   <li>in fp16, the gradients are unscaled in place (divided by the loss scale) and checked for an
     *       overflow, which every rank finds alike in the averaged gradients: nothing after this sees scaled
     *       gradients;</li>
     *   <li>the fault-injection aid, when asked for, and the listeners' look at the raw gradients;</li>
     *   <li>the gradient pipeline (clipping), once, after the last micro-batch;</li>
     *   <li>the guard's decision, agreed by every rank (the same all-reduce carries any rank's stop
     *       request): a non-finite loss or gradient, an fp16 overflow, or a transform's request, skips the
     *       update;</li>
     *   <li>the optimizer step at the schedule's learning rate times the controller's scale, checked: an
     *       update that would leave a parameter NaN or infinite (or a learning rate that is not finite) is
     *       undone, parameters and optimizer state alike, and the step is skipped with reason
     *       {@link dev.gradguard.guard.SkipReason#UPDATE} (see {@link TrainingOptimizer#checkedStep}); the
     *       schedule advances only when the update was applied. Parameters that no backward of the step
     *       reached (on any rank) are left out of the update, as PyTorch's optimizers skip a parameter whose
     *       gradient is {@code None}: no weight decay, momentum or step count for them;</li>
     *   <li>on skipped and hard-clipped steps, the layers the trouble came from are found;</li>
     *   <li>in fp16, the loss scale is updated: lowered after an overflow, raised after a growth interval of
     *       finite steps;</li>
     *   <li>the controller observes the step (its changes apply from the next step on);</li>
     *   <li>the divergence stop looks at the loss: when it has stayed far above the first step's for too long,
     *       the run ends after this step ({@link DivergenceStop}; the loss is the same on every rank);</li>
     *   <li>metrics: the result goes to every listener.</li>
     * </ol>
     *
     * @return what happened in the step
     * @throws TrainingDivergedException after listeners saw the step, when the guard gives up after too many
     *     non-finite steps in a row
     */
    public StepResult step() {
        long current = step;
        long start = System.nanoTime();
        StepResult result;
        try (PointerScope scope = new PointerScope()) {
            zeroGradients();

            Tensor lossSum = null; // the mean over micro-batches, on the device: read back once, not per micro-batch
            double lossScale = scaler.scale();
            for (int micro = 0; micro < accumulation; micro++) {
                boolean syncs = micro == accumulation - 1;
                Batch batch = requireLive(data.next());
                parallel.beforeForward(syncs);
                Tensor microLoss;
                try (Autocast autocast = precision.autocast(device)) {
                    microLoss = lossFunction.loss(model.forward(onDevice(batch.input())), onDevice(batch.target()));
                }
                parallel.beforeBackward(syncs);
                scaler.scale(perMicroBatch(microLoss)).backward();
                // one micro-batch's loss is read as it is (its widening to float64 is exact); several add up in float64
                Tensor part = accumulation == 1
                        ? microLoss
                        : perMicroBatch(microLoss.detach().to(torch.ScalarType.Double));
                lossSum = lossSum == null ? part : lossSum.add(part);
            }
            synchronizeGradients();
            double loss = parallel.average(lossSum.item_double());
            boolean overflow = unscaleGradients();

            injection.afterBackward(current, parameters);
            for (TrainingListener listener : listeners) {
                listener.onGradients(current, parameters);
            }

            PipelineReport clip = pipeline.apply(parameters, gradients, current, loss);

            // an fp16 overflow lowers the scale and skips the step; at the scale's floor it is a divergence
            boolean calibrating = overflow && !scaler.atFloor();
            Decision agreed = unanimous(guard.decide(current, loss, clip,
                    calibrating ? OptionalDouble.of(scaler.nextScale()) : OptionalDouble.empty()), arrivals.missing());
            GuardDecision decision = agreed.guard();

            double lr = schedule.lr() * controller.lrScale();
            if (decision.applyUpdate()) {
                // the same on every rank: same weights, gradients, optimizer state, learning rate and unused set
                decision = guard.afterUpdate(current, update(lr, agreed.unused()));
            }
            if (decision.applyUpdate()) {
                schedule.afterUpdate(loss);
                rememberLoss(loss);
            }
            Optional<LayerAttribution> attribution = attributor.attribute(parameters, clip, decision);
            scaler.update();

            List<ControlDecision> control = controller.observe(current, clip, decision.applyUpdate());
            divergence.observe(current, loss).ifPresent(this::stopAfterThisStep);

            if (clip.clipped()) {
                clippedSteps++;
            }
            result = new StepResult(current, loss, lr,
                    new StepResult.Gradients(clip.preClipNorm(), clip.postClipNorm(), clip.clipped(), clip.coefficient()),
                    decision.skip(), decision.stopReason(),
                    new StepResult.Diagnostics(attribution, control,
                            scaler.enabled() ? OptionalDouble.of(lossScale) : OptionalDouble.empty()),
                    (System.nanoTime() - start) / 1e6);
        }
        step++;
        for (TrainingListener listener : listeners) {
            listener.onStep(result);
        }
        if (result.stopReason().isPresent()) {
            throw new TrainingDivergedException(current, result.stopReason().get());
        }
        return result;
    }

    /** {@code t} divided by the number of micro-batches; {@code t} itself for one, which no division changes. */
    private Tensor perMicroBatch(Tensor t) {
        return accumulation == 1 ? t : t.div(new Scalar((double) accumulation));
    }

    /**
     * The batch, unless its tensors were already freed: a source that made them before the step (in another
     * step's {@code PointerScope}) hands over tensors that scope released, which would crash in native code.
     */
    private static Batch requireLive(Batch batch) {
        if (batch == null || batch.input() == null || batch.target() == null || batch.input().isNull()
                || batch.target().isNull()) {
            throw new IllegalStateException("the data source returned a batch whose tensors are already freed: make "
                    + "the batch's tensors in BatchSource.next(), inside the step (each step frees the tensors it made; "
                    + "keep a data set made before training and slice it in next())");
        }
        return batch;
    }

    /**
     * Runs steps until {@code totalSteps} have run in all (a resumed trainer continues where it was), or
     * until the guard stops training.
     *
     * @param totalSteps the step count to reach
     * @return how training ended; a stop by the guard or by {@link #requestStop} is reported here, not thrown
     */
    public TrainingOutcome run(long totalSteps) {
        long start = System.nanoTime();
        for (TrainingListener listener : listeners) {
            listener.onTrainStart(this, totalSteps);
        }
        Optional<String> stopReason = Optional.empty();
        try {
            while (step < totalSteps && !stopNow()) {
                step();
            }
            stopReason = Optional.ofNullable(stopAfterStep != null ? stopAfterStep : stopRequest);
        } catch (TrainingDivergedException e) {
            stopReason = Optional.of(e.getMessage());
        }
        TrainingOutcome outcome = new TrainingOutcome(step, finalLoss(), guard.skippedSteps(), clippedSteps,
                guard.nonFiniteSteps(), stopReason, (System.nanoTime() - start) / 1e9);
        for (TrainingListener listener : listeners) {
            listener.onTrainEnd(outcome);
        }
        return outcome;
    }

    /**
     * Whether to stop before the next step: a listener's {@link #stopAfterThisStep}, or a stop request, in
     * data-parallel training only as agreed by the last step's {@link #unanimous} (a signal reaches the ranks
     * at different moments, and every rank must stop before the same step, so that none waits in a
     * collective for a peer that already left).
     */
    private boolean stopNow() {
        return stopAfterStep != null || (parallel.worldSize() == 1 ? stopRequest != null : agreedStop);
    }

    /** The tensor on the trainer's device (the same tensor when it is there already). */
    private Tensor onDevice(Tensor t) {
        return device.is_cpu() && t.device().is_cpu() ? t : t.to(device, t.scalar_type());
    }

    /**
     * Steps the optimizer at {@code lr}, checked unless {@link Builder#checkUpdate} turned the check off,
     * without the {@code unused} parameters.
     *
     * @return empty when the update was applied, else why it was refused (and undone)
     */
    private Optional<String> update(double lr, BitSet unused) {
        BitSet withheld = unused;
        if (optimizerIndex != null) {
            withheld = new BitSet();
            for (int i = unused.nextSetBit(0); i >= 0; i = unused.nextSetBit(i + 1)) {
                if (optimizerIndex[i] >= 0) {
                    withheld.set(optimizerIndex[i]);
                }
            }
        }
        if (checkUpdate) {
            return optimizer.checkedStep(lr, withheld);
        }
        optimizer.step(lr, withheld);
        return Optional.empty();
    }

    /**
     * For each of the model's parameters, its index in the optimizer's list (-1 when the optimizer does not
     * update it), or null when both list the same tensors in the same order: a libtorch optimizer may hold them
     * in groups of its own order.
     */
    private static int[] optimizerIndex(Parameters parameters, TrainingOptimizer optimizer) {
        List<Tensor> optimized = optimizer.parameters();
        boolean same = optimized.size() == parameters.size();
        for (int i = 0; same && i < parameters.size(); i++) {
            same = parameters.get(i).is_same(optimized.get(i));
        }
        if (same) {
            return null;
        }
        int[] index = new int[parameters.size()];
        for (int i = 0; i < parameters.size(); i++) {
            index[i] = -1;
            for (int j = 0; j < optimized.size(); j++) {
                if (parameters.get(i).is_same(optimized.get(j))) {
                    index[i] = j;
                    break;
                }
            }
        }
        return index;
    }

    /**
     * fp16: divides the gradients by the loss scale (in place, over the flat buffers when bound) and says
     * whether they overflowed; nothing otherwise. After the sync every rank holds the same gradients, bit for
     * bit, so every rank finds the same without a collective.
     */
    private boolean unscaleGradients() {
        return buffer.isPresent()
                ? scaler.unscaleGradients(buffer.get().flatTensors())
                : scaler.unscale(parameters);
    }

    /** Averages the gradients over the data-parallel ranks (nothing in a single process). */
    private void synchronizeGradients() {
        if (buffer.isPresent()) {
            parallel.synchronize(buffer.get());
        } else {
            parallel.synchronize(parameters);
        }
    }

    /**
     * The guard's decision and the parameters the update leaves out, as every rank agreed them.
     *
     * @param unused the parameters that received no gradient on any rank
     */
    private record Decision(GuardDecision guard, BitSet unused) {
    }

    /**
     * A skip on any rank is a skip on every rank, so the replicas never drift apart. The same one all-reduce
     * carries any rank's stop request, which {@link #run} acts on before the next step, and whether some
     * parameter received no gradient on every rank; only then does a second all-reduce say which.
     *
     * @param missing the parameters that received no gradient in this step on this rank
     */
    private Decision unanimous(GuardDecision local, BitSet missing) {
        String request = stopRequest;
        DataParallel.Agreement agreed = parallel.agree(local.applyUpdate(), request != null, missing.isEmpty());
        if (agreed.stopAnywhere() && request == null && parallel.worldSize() > 1) {
            stopRequest = "another data-parallel rank was asked to stop";
        }
        agreedStop = agreed.stopAnywhere();
        BitSet unused = agreed.allReceivedSomewhere() ? new BitSet()
                : parallel.missingEverywhere(missing, parameters.size());
        GuardDecision decision = agreed.applyEverywhere() || !local.applyUpdate() ? local : guard.peerSkipped();
        return new Decision(decision, unused);
    }

    /**
     * Zeroes the gradients in place: the flat buffers when bound, else every gradient tensor; and forgets which
     * parameters received one, so that those this step's backward passes do not reach stay out of its update.
     */
    private void zeroGradients() {
        arrivals.reset();
        if (buffer.isPresent()) {
            buffer.get().zero();
        } else {
            model.module().zero_grad(false);
        }
    }

    /**
     * Asks {@link #run(long)} to stop soon; safe to call from any thread, e.g. a signal handler. The
     * outcome's stop reason is {@code reason}. In a single process the run stops after the step in progress;
     * in data-parallel training a request on any rank is agreed at the next step's decision, so every rank
     * stops after that same step.
     */
    public void requestStop(String reason) {
        stopRequest = Objects.requireNonNull(reason, "reason");
    }

    /**
     * Stops {@link #run(long)} right after the step whose {@code onStep} is calling it: for listeners that
     * decide from the {@link StepResult}, which is the same on every data-parallel rank, so every rank makes
     * the same call at the same step and no agreement is needed. Call it from the training thread only; a
     * decision that may differ between ranks (a signal, a clock) goes through {@link #requestStop} instead.
     */
    public void stopAfterThisStep(String reason) {
        stopAfterStep = Objects.requireNonNull(reason, "reason");
    }

    private void rememberLoss(double loss) {
        recentLosses.addLast(loss);
        if (recentLosses.size() > FINAL_LOSS_WINDOW) {
            recentLosses.removeFirst();
        }
    }

    private double finalLoss() {
        return recentLosses.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    /** The number of steps run so far, which is also the next step's index. */
    public long stepCount() {
        return step;
    }

    public Model model() {
        return model;
    }

    public Parameters parameters() {
        return parameters;
    }

    public TrainingOptimizer optimizer() {
        return optimizer;
    }

    public GradientPipeline pipeline() {
        return pipeline;
    }

    public NonFiniteGuard guard() {
        return guard;
    }

    public LrSchedule schedule() {
        return schedule;
    }

    public Controller controller() {
        return controller;
    }

    public Precision precision() {
        return precision;
    }

    /** The loss scaler: enabled in fp16, a pass-through otherwise. */
    public GradScaler scaler() {
        return scaler;
    }

    /**
     * The loop's own state and that of every stateful part it drives (data, pipeline, guard, schedule,
     * controller, and in fp16 the loss scaler).
     * Model weights and optimizer moments live in libtorch archives, not here.
     */
    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("step", step);
        state.put("clipped_steps", clippedSteps);
        state.put("recent_losses", new ArrayList<>(recentLosses));
        state.put("data", data.stateDict());
        state.put("pipeline", pipeline.stateDict());
        state.put("guard", guard.stateDict());
        state.put("divergence", divergence.stateDict());
        state.put("schedule", schedule.stateDict());
        state.put("controller", controller.stateDict());
        if (scaler.enabled()) {
            state.put("scaler", scaler.stateDict());
        }
        return state;
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        step = StateMaps.getLong(state, "step");
        clippedSteps = StateMaps.getLong(state, "clipped_steps");
        recentLosses.clear();
        for (double loss : StateMaps.getDoubles(state, "recent_losses")) {
            recentLosses.addLast(loss);
        }
        data.loadStateDict(StateMaps.getMap(state, "data"));
        pipeline.loadStateDict(StateMaps.getMap(state, "pipeline"));
        guard.loadStateDict(StateMaps.getMap(state, "guard"));
        if (state.containsKey("divergence")) { // checkpoints written before the divergence stop have none
            divergence.loadStateDict(StateMaps.getMap(state, "divergence"));
        }
        schedule.loadStateDict(StateMaps.getMap(state, "schedule"));
        controller.loadStateDict(StateMaps.getMap(state, "controller"));
        if (scaler.enabled()) {
            scaler.loadStateDict(StateMaps.getMap(state, "scaler"));
        }
    }

    /**
     * Unbinds the gradient buffer: every parameter gets a gradient tensor of its own again, so the model can be
     * trained by plain libtorch code afterwards ({@code Optimizer.zero_grad()} included), and removes the hooks
     * that record which parameters receive gradients (a trainer that is never closed leaves them on the model's
     * parameters, and one small object per parameter in memory). The trainer must not step after this.
     */
    @Override
    public void close() {
        arrivals.close();
        buffer.ifPresent(GradBuffer::unbind);
    }

    /** Assembles a {@link Trainer}. Model, data, loss, optimizer and schedule are required. */
    public static final class Builder {
        private Model model;
        private BatchSource data;
        private LossFunction loss;
        private TrainingOptimizer optimizer;
        private LrSchedule schedule;
        private GradientPipeline pipeline = GradientPipeline.of();
        private NonFiniteGuard guard = new NonFiniteGuard(NonFiniteGuard.DEFAULT_MAX_CONSECUTIVE);
        private DivergenceStop divergence = DivergenceStop.off();
        private Controller controller = Controllers.none();
        private LayerAttributor attributor = LayerAttributor.defaults();
        private int accumulation = 1;
        private NonFiniteInjection injection = NonFiniteInjection.none();
        private final List<TrainingListener> listeners = new ArrayList<>();
        private boolean gradBuffer = true;
        private GradSync gradSync = GradSync.DEFAULT;
        private DataParallel parallel = DataParallel.single();
        private Device device = new Device("cpu");
        private Precision precision = Precision.FP32;
        private GradScaler scaler;
        private boolean checkUpdate = true;

        private Builder() {
        }

        public Builder model(Model model) {
            this.model = model;
            return this;
        }

        public Builder data(BatchSource data) {
            this.data = data;
            return this;
        }

        public Builder loss(LossFunction loss) {
            this.loss = loss;
            return this;
        }

        /**
         * The optimizer over {@code Parameters.of(model.module())}: gradguard's own, from
         * {@link dev.gradguard.optim.Optimizers#create}, whose update check costs the least.
         */
        public Builder optimizer(TrainingOptimizer optimizer) {
            this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
            return this;
        }

        /**
         * A libtorch optimizer over the model's parameters (in any groups and order), stepped through
         * {@link LibtorchOptimizer}: its update check saves the optimizer state to an in-memory archive before
         * every step.
         */
        public Builder optimizer(Optimizer optimizer) {
            return optimizer(LibtorchOptimizer.of(optimizer));
        }

        public Builder schedule(LrSchedule schedule) {
            this.schedule = schedule;
            return this;
        }

        /** The gradient transforms; none by default. */
        public Builder pipeline(GradientPipeline pipeline) {
            this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
            return this;
        }

        /** The non-finite guard; by default one that stops after 20 non-finite steps in a row. */
        public Builder guard(NonFiniteGuard guard) {
            this.guard = Objects.requireNonNull(guard, "guard");
            return this;
        }

        /** What ends a run whose loss runs away while staying finite; off by default. */
        public Builder divergenceStop(DivergenceStop stop) {
            this.divergence = Objects.requireNonNull(stop, "stop");
            return this;
        }

        /** The controller that adjusts the learning rate and clipping threshold; none by default. */
        public Builder controller(Controller controller) {
            this.controller = Objects.requireNonNull(controller, "controller");
            return this;
        }

        /** Which steps get a per-layer attribution; by default non-finite, skipped and coefficient-below-0.1 ones. */
        public Builder attributor(LayerAttributor attributor) {
            this.attributor = Objects.requireNonNull(attributor, "attributor");
            return this;
        }

        /**
         * Whether to bind the gradients into a flat {@link GradBuffer} (default true). Without it, clipping
         * works tensor by tensor with {@link dev.gradguard.clip.ClipGrad}; the results are the same.
         */
        public Builder gradBuffer(boolean enabled) {
            this.gradBuffer = enabled;
            return this;
        }

        /**
         * How data-parallel training averages the gradients (default {@link GradSync#DEFAULT}); no effect in
         * a single process.
         */
        public Builder gradSync(GradSync mode) {
            this.gradSync = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * Data-parallel training over c10d: parameters are broadcast from rank 0 when the trainer is built,
         * gradients are averaged for the last micro-batch, and skip decisions are unanimous. Single
         * process by default.
         */
        public Builder dataParallel(DataParallel parallel) {
            this.parallel = Objects.requireNonNull(parallel, "parallel");
            return this;
        }

        /**
         * The device the model lives on; batches are moved there before the forward pass. The CPU by default;
         * move the model there before building the optimizer (see {@code dev.gradguard.engine.Devices}).
         */
        public Builder device(Device device) {
            this.device = Objects.requireNonNull(device, "device");
            return this;
        }

        /**
         * The precision of the forward pass and the loss; fp32 by default. fp16 gets a {@link GradScaler} with
         * PyTorch's defaults unless {@link #gradScaler} gives one.
         */
        public Builder precision(Precision precision) {
            this.precision = Objects.requireNonNull(precision, "precision");
            return this;
        }

        /** The loss scaler of an fp16 trainer (bf16 and fp32 need none). */
        public Builder gradScaler(GradScaler scaler) {
            this.scaler = Objects.requireNonNull(scaler, "scaler");
            return this;
        }

        private GradScaler scaler() {
            if (!precision.needsLossScaling()) {
                if (scaler != null && scaler.enabled()) {
                    throw new IllegalArgumentException("a GradScaler applies to fp16 only: " + precision.id()
                            + " needs no loss scaling");
                }
                return GradScaler.disabled();
            }
            return scaler != null ? scaler : GradScaler.withDefaults();
        }

        /**
         * Whether the optimizer step is checked (default true): with the check, an update that would leave a
         * parameter NaN or infinite is undone and the step skipped with reason
         * {@link dev.gradguard.guard.SkipReason#UPDATE}; without it such an update reaches the weights (and a
         * learning rate that is not finite throws), and the step saves the copy of the parameters and optimizer
         * state the check needs (see {@code gradguard bench step} for what that costs).
         */
        public Builder checkUpdate(boolean enabled) {
            this.checkUpdate = enabled;
            return this;
        }

        /** Micro-batches per step, at least 1; gradients are clipped once, after the last. */
        public Builder accumulation(int microBatches) {
            if (microBatches < 1) {
                throw new IllegalArgumentException("accumulation must be at least 1 micro-batch, got " + microBatches);
            }
            this.accumulation = microBatches;
            return this;
        }

        public Builder injection(NonFiniteInjection injection) {
            this.injection = Objects.requireNonNull(injection, "injection");
            return this;
        }

        public Builder listener(TrainingListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        public Trainer build() {
            return new Trainer(this);
        }
    }
}
