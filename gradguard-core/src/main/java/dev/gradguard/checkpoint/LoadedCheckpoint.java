package dev.gradguard.checkpoint;

import dev.gradguard.optim.TrainingOptimizer;
import dev.gradguard.state.Stateful;
import dev.gradguard.train.Trainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A checkpoint whose files all matched their manifest when it was read, and the means to apply it.
 *
 * <p>Every {@code restore} method checks what it can before it changes anything (a model with other
 * parameters, an optimizer of another kind or over other shapes) and turns every failure, libtorch's
 * included, into a {@link CheckpointException} with a one-line message. Immutable.
 */
public final class LoadedCheckpoint {
    private final Path directory;
    private final long step;
    private final Map<String, Object> trainerState;
    private final byte[] generatorState;
    private final Map<String, Long> metricsOffsets;
    private final Map<String, Object> metadata;
    private final ModelFingerprint fingerprint;
    private final String optimizerType;

    LoadedCheckpoint(Path directory, long step, Map<String, Object> trainerState, byte[] generatorState,
            Map<String, Long> metricsOffsets, Map<String, Object> metadata, ModelFingerprint fingerprint,
            String optimizerType) {
        this.directory = directory;
        this.step = step;
        this.trainerState = Collections.unmodifiableMap(new LinkedHashMap<>(trainerState));
        this.generatorState = generatorState.clone();
        this.metricsOffsets = Collections.unmodifiableMap(new LinkedHashMap<>(metricsOffsets));
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        this.fingerprint = fingerprint;
        this.optimizerType = optimizerType;
    }

    public Path directory() {
        return directory;
    }

    public long step() {
        return step;
    }

    /** The trainer's state map as saved (numbers come back as Integer, Long or Double). */
    public Map<String, Object> trainerState() {
        return trainerState;
    }

    /** A copy of the default CPU generator's state at the checkpoint. */
    public byte[] generatorState() {
        return generatorState.clone();
    }

    /** Each metrics file's byte length at the checkpoint. */
    public Map<String, Long> metricsOffsets() {
        return metricsOffsets;
    }

    public Map<String, Object> metadata() {
        return metadata;
    }

    /** The parameters and buffers of the model the checkpoint was taken from. */
    public ModelFingerprint fingerprint() {
        return fingerprint;
    }

    /**
     * The kind of the optimizer the checkpoint was taken from ({@link TrainingOptimizer#kind}), e.g. libtorch's
     * {@code Adam} or gradguard's {@code gradguard.Adam}.
     */
    public String optimizerType() {
        return optimizerType;
    }

    public Path modelArchive() {
        return directory.resolve(Manifest.MODEL);
    }

    public Path optimizerArchive() {
        return directory.resolve(Manifest.OPTIMIZER);
    }

    /**
     * Restores everything into a trainer built like the one saved: model, optimizer, the trainer's own state
     * (loop counters, data position, pipeline, guard, schedule, controller), then the generator.
     *
     * @throws CheckpointException when the model or optimizer does not fit, or a saved weight or optimizer
     *     state tensor holds NaN or an infinity (all checked before anything changes), or when loading fails
     *     part-way; then the trainer is in no defined state and must not train on
     */
    public void restore(Trainer trainer) {
        restoreWeights(trainer.model().module(), trainer.optimizer());
        restoreState(trainer);
        restoreGenerator();
    }

    /**
     * Restores the model and the optimizer together: both archives are read and checked (fit and finiteness)
     * before either changes, so a bad optimizer state does not leave new weights behind.
     *
     * @throws CheckpointException as {@link #restoreModel} and {@link #restoreOptimizer}; the model and the
     *     optimizer are untouched when a check fails
     */
    public void restoreWeights(Module model, TrainingOptimizer optimizer) {
        checkModel(model);
        checkOptimizer(optimizer);
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            List<Copy> weights = finiteModelTensors(model);
            InputArchive state = finiteOptimizerArchive(optimizer);
            // the optimizer first: gradguard's refuse a state they cannot keep before changing anything
            loadOptimizer(optimizer, state);
            copyAll(weights);
        }
    }

    /**
     * Loads the model archive into {@code model}, copying each saved parameter and buffer into the live tensor
     * of the same name. Every parameter stays the tensor it was, with its storage: {@code Module.load} would
     * {@code set_()} each one to the loaded storage instead, which detaches it from the autograd hooks that
     * DDP's Reducer put on it (the Reducer then silently stops averaging it).
     *
     * @throws CheckpointException when {@code model}'s parameters or buffers differ from the checkpoint's
     *     (names, dtypes or shapes), when a saved parameter or buffer holds NaN or an infinity (naming it; the
     *     model is then untouched), or when libtorch cannot load the archive
     */
    public void restoreModel(Module model) {
        checkModel(model);
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            copyAll(finiteModelTensors(model));
        }
    }

    /** A saved tensor and the live one it goes into. */
    private record Copy(String name, Tensor saved, Tensor target) {
    }

    private List<Copy> finiteModelTensors(Module model) {
        List<Copy> copies = new ArrayList<>();
        try {
            InputArchive archive = new InputArchive();
            archive.load_from(modelArchive().toString(), deviceOf(Arrays.asList(model.parameters().get())));
            read(archive, model.named_parameters(true), copies);
            read(archive, model.named_buffers(true), copies);
        } catch (RuntimeException e) {
            throw new CheckpointException(directory, "libtorch could not load " + Manifest.MODEL + ": "
                    + CheckpointException.firstLine(e), e);
        }
        for (Copy c : copies) {
            if (c.saved().is_floating_point() && !torch.isfinite(c.saved()).all().item_bool()) {
                throw new CheckpointException(directory, Manifest.MODEL + ": " + c.name()
                        + " holds NaN or an infinity; refusing to load non-finite weights");
            }
        }
        return copies;
    }

    private static void copyAll(List<Copy> copies) {
        for (Copy c : copies) {
            c.target().copy_(c.saved());
        }
    }

    /**
     * Reads the archived tensor of each live one's name. A dotted name ({@code rnn.weight_ih_l0}) is
     * found where {@code Module.save} put it: in the archive of each submodule on the path.
     */
    private static void read(InputArchive root, StringTensorDict live, List<Copy> into) {
        for (long i = 0; i < live.size(); i++) {
            String name = live.get(i).key().getString();
            Tensor target = new Tensor(live.get(i).value());
            String[] path = name.split("\\.");
            InputArchive archive = root;
            for (int d = 0; d < path.length - 1; d++) {
                InputArchive child = new InputArchive();
                archive.read(path[d], child);
                archive = child;
            }
            Tensor saved = new Tensor();
            archive.read(path[path.length - 1], saved);
            into.add(new Copy(name, saved, target));
        }
    }

    /**
     * Loads the optimizer archive into {@code optimizer}, which must read the saved kind (see
     * {@link TrainingOptimizer#reads}: gradguard's optimizers read what libtorch's of the same kind saved) and be
     * over the same parameters, in the same order, as the saved one (as {@code Optimizers.create} builds it
     * over {@code Parameters.of(model)}).
     *
     * @throws CheckpointException when the kind or the parameters' shapes differ, or when a saved state tensor
     *     (a momentum buffer, Adam's moments) holds NaN or an infinity (naming it; the optimizer is then
     *     untouched), or when the optimizer cannot load the archive (a state it does not keep, such as a
     *     momentum buffer for SGD without momentum, is refused, never dropped)
     */
    public void restoreOptimizer(TrainingOptimizer optimizer) {
        checkOptimizer(optimizer);
        try (PointerScope scope = new PointerScope()) {
            loadOptimizer(optimizer, finiteOptimizerArchive(optimizer));
        }
    }

    private InputArchive finiteOptimizerArchive(TrainingOptimizer optimizer) {
        InputArchive archive = new InputArchive();
        try {
            archive.load_from(optimizerArchive().toString(), deviceOf(optimizer.parameters()));
        } catch (RuntimeException e) {
            throw new CheckpointException(directory, "libtorch could not load " + Manifest.OPTIMIZER + ": "
                    + CheckpointException.firstLine(e), e);
        }
        Optional<String> nonFinite = OptimizerArchives.firstNonFinite(archive, fingerprint);
        if (nonFinite.isPresent()) {
            throw new CheckpointException(directory, Manifest.OPTIMIZER + ": " + nonFinite.get()
                    + " holds NaN or an infinity; refusing to load a non-finite optimizer state");
        }
        return archive;
    }

    private void loadOptimizer(TrainingOptimizer optimizer, InputArchive archive) {
        try {
            optimizer.load(archive);
        } catch (RuntimeException e) {
            throw new CheckpointException(directory, optimizer.kind() + " could not load " + Manifest.OPTIMIZER + ": "
                    + CheckpointException.firstLine(e), e);
        }
    }

    /**
     * Sets libtorch's default CPU generator to its state at the checkpoint.
     *
     * @throws CheckpointException when libtorch refuses the state
     */
    public void restoreGenerator() {
        try {
            CpuGeneratorState.restore(generatorState);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(directory, Manifest.GENERATOR + ": " + e.getMessage(), e);
        }
    }

    /**
     * Loads the saved trainer state into {@code component} (a trainer, or any {@link Stateful} whose state
     * map was saved as the trainer state).
     *
     * @throws CheckpointException when the component rejects the map (its {@code IllegalArgumentException}, or
     *     any other runtime exception it throws)
     */
    public void restoreState(Stateful component) {
        try {
            component.loadStateDict(trainerState);
        } catch (RuntimeException e) {
            throw new CheckpointException(directory, Manifest.TRAINER + ": " + CheckpointException.firstLine(e), e);
        }
    }

    /**
     * The device of the first tensor, where the archive's tensors must go: libtorch's {@code Module.load}
     * replaces a parameter by a stored tensor on another device instead of copying it over.
     */
    private static DeviceOptional deviceOf(List<Tensor> tensors) {
        return tensors.isEmpty() ? new DeviceOptional() : new DeviceOptional(tensors.get(0).device());
    }

    /**
     * Checks that {@code model} can take this checkpoint's weights.
     *
     * @throws CheckpointException naming the first parameter or buffer that differs
     */
    public void checkModel(Module model) {
        Optional<String> mismatch = fingerprint.firstMismatch(ModelFingerprint.of(model));
        if (mismatch.isPresent()) {
            throw new CheckpointException(directory, "saved from a different model: " + mismatch.get());
        }
    }

    /**
     * Checks that {@code optimizer} can take this checkpoint's optimizer state.
     *
     * @throws CheckpointException naming the kind or the first parameter that differs
     */
    public void checkOptimizer(TrainingOptimizer optimizer) {
        if (!optimizer.reads(optimizerType)) {
            throw new CheckpointException(directory, "saved with optimizer " + optimizerType + ", which "
                    + optimizer.kind() + " cannot read");
        }
        List<ModelFingerprint.Entry> saved = fingerprint.parameters();
        try (PointerScope scope = new PointerScope()) {
            List<Tensor> params = optimizer.parameters();
            if (params.size() != saved.size()) {
                throw new CheckpointException(directory, "saved with an optimizer over " + saved.size()
                        + " parameters, this one has " + params.size());
            }
            for (int i = 0; i < saved.size(); i++) {
                Tensor p = params.get(i);
                String here = p.scalar_type() + Arrays.toString(p.sizes().vec().get());
                if (!here.equals(saved.get(i).describe())) {
                    throw new CheckpointException(directory, "optimizer parameter " + i + " is " + here
                            + " here but " + saved.get(i).describe() + " (" + saved.get(i).name()
                            + ") in the checkpoint");
                }
            }
        }
    }
}
