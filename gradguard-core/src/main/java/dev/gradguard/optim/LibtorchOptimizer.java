package dev.gradguard.optim;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.ArchiveWriter;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OptimizerParamGroupVector;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * A libtorch {@code Optimizer} a user built, stepped as a {@link TrainingOptimizer}: the general path, for any
 * libtorch optimizer. gradguard's own optimizers ({@link FusedOptimizer}) check their updates for much less.
 *
 * <p>A {@linkplain #checkedStep checked step} copies the parameters and the optimizer state before stepping,
 * checks every parameter with one {@code isfinite().all()} per tensor, combined into one boolean read back,
 * and when any is not finite, or the optimizer throws (libtorch refuses a learning rate beyond float32's range
 * part-way through a step), copies both back. libtorch exposes an optimizer's state to Java only through its
 * serialization, so the state is saved to an in-memory archive before each checked step (two floats per
 * parameter for Adam and AdamW, one for SGD with momentum, plus the archive's framing) and loaded back only
 * when an update is undone; SGD without momentum keeps no state, and this copy is skipped.
 *
 * <p>Not covered: a non-finite value that the optimizer writes into its state but not (yet) into the
 * parameters, such as Adam's second moment overflowing float32 where the update itself stays finite. It is
 * caught when it reaches the parameters, which are then restored, and a checkpoint holding it is refused when
 * loaded.
 */
public final class LibtorchOptimizer implements TrainingOptimizer {
    /** Where {@link #WRITER} writes, set around each {@code save_to} on the calling thread. */
    private static final ThreadLocal<ByteArrayOutputStream> TARGET = new ThreadLocal<>();
    /**
     * One callback for every instance: JavaCPP keeps a small fixed number of native thunks per callback class,
     * and one per optimizer would run out (a null function pointer, a SIGSEGV) in a process that builds many.
     */
    private static final ArchiveWriter WRITER = new ArchiveWriter() {
        @Override
        public long call(Pointer data, long size) {
            byte[] chunk = new byte[Math.toIntExact(size)];
            new BytePointer(data).capacity(size).get(chunk);
            TARGET.get().write(chunk, 0, chunk.length);
            return size;
        }
    }.retainReference();

    private final Optimizer optimizer;
    private final List<Tensor> parameters;
    private final boolean stateless;
    private final ByteArrayOutputStream stateBytes = new ByteArrayOutputStream();
    private List<Tensor> saved;

    private LibtorchOptimizer(Optimizer optimizer) {
        this.optimizer = optimizer;
        List<Tensor> params = new ArrayList<>();
        OptimizerParamGroupVector groups = optimizer.param_groups();
        for (long g = 0; g < groups.size(); g++) {
            TensorVector group = groups.get(g).params();
            for (long i = 0; i < group.size(); i++) {
                params.add(new Tensor(group.get(i)).retainReference());
            }
        }
        this.parameters = List.copyOf(params);
        this.stateless = keepsNoState(optimizer);
    }

    /** {@code optimizer}, over the parameters its groups hold, in order. */
    public static LibtorchOptimizer of(Optimizer optimizer) {
        return new LibtorchOptimizer(Objects.requireNonNull(optimizer, "optimizer"));
    }

    /** The libtorch optimizer itself. */
    public Optimizer libtorch() {
        return optimizer;
    }

    /** libtorch's class name, e.g. {@code SGD}, {@code Adam}, {@code AdamW}. */
    @Override
    public String kind() {
        return optimizer.getClass().getSimpleName();
    }

    @Override
    public boolean reads(String savedKind) {
        return kind().equals(savedKind);
    }

    @Override
    public List<Tensor> parameters() {
        return parameters;
    }

    @Override
    public double lr() {
        return Optimizers.lr(optimizer);
    }

    @Override
    public void step(double lr, BitSet withheld) {
        Optimizers.setLr(optimizer, lr);
        stepWithout(withheld);
    }

    @Override
    public Optional<String> checkedStep(double lr, BitSet withheld) {
        if (!(Double.isFinite(lr) && lr >= 0)) {
            return Optional.of("learning rate is " + lr + " (must be finite and >= 0)");
        }
        byte[] state = stateless ? null : saveState();
        try (NoGradGuard noGrad = new NoGradGuard()) {
            if (saved == null) {
                saved = new ArrayList<>(parameters.size());
                for (Tensor p : parameters) {
                    saved.add(torch.empty_like(p).retainReference());
                }
            }
            for (int i = 0; i < saved.size(); i++) {
                saved.get(i).copy_(parameters.get(i));
            }
        }
        Optimizers.setLr(optimizer, lr);
        Optional<String> nonFinite;
        try {
            stepWithout(withheld);
            nonFinite = firstNonFinite(lr);
        } catch (RuntimeException e) {
            // e.g. "value cannot be converted to type float without overflow" for lr beyond float32, thrown
            // after some parameters were updated
            nonFinite = Optional.of("the optimizer step failed: " + Optimizers.firstLine(e));
        }
        if (nonFinite.isPresent()) {
            try (NoGradGuard noGrad = new NoGradGuard()) {
                for (int i = 0; i < saved.size(); i++) {
                    parameters.get(i).copy_(saved.get(i));
                }
            }
            if (state != null) {
                loadState(state);
            }
        }
        return nonFinite;
    }

    @Override
    public void save(OutputArchive archive) {
        optimizer.save(archive);
    }

    @Override
    public void load(InputArchive archive) {
        optimizer.load(archive);
    }

    /**
     * Steps the optimizer with the gradients of the {@code withheld} parameters undefined, as PyTorch's are
     * after {@code zero_grad()} when no backward reached them: libtorch's optimizers skip such a parameter
     * entirely (weight decay, momentum and step count alike). The very same gradient tensors are put back
     * afterwards, so a gradient buffer's views stay bound.
     */
    private void stepWithout(BitSet withheld) {
        List<Tensor> gradients = new ArrayList<>(withheld.cardinality());
        for (int i = withheld.nextSetBit(0); i >= 0; i = withheld.nextSetBit(i + 1)) {
            Tensor grad = parameters.get(i).mutable_grad();
            gradients.add(new Tensor(grad));
            grad.put(new Tensor());
        }
        try {
            optimizer.step();
        } finally {
            int k = 0;
            for (int i = withheld.nextSetBit(0); i >= 0; i = withheld.nextSetBit(i + 1)) {
                parameters.get(i).mutable_grad().put(gradients.get(k++));
            }
        }
    }

    /** One combined check; the parameter is named only when it fails. */
    private Optional<String> firstNonFinite(double lr) {
        TensorVector finite = new TensorVector();
        for (Tensor p : parameters) {
            finite.push_back(torch.isfinite(p).all());
        }
        if (finite.size() == 0 || torch.stack(finite).all().item_bool()) {
            return Optional.empty();
        }
        for (int i = 0; i < parameters.size(); i++) {
            if (!finite.get(i).item_bool()) {
                return Optional.of(String.format(Locale.ROOT, "the update made parameter %d of the optimizer non-finite "
                        + "(lr %s)", i, lr));
            }
        }
        throw new IllegalStateException("isfinite disagreed with itself");
    }

    private byte[] saveState() {
        stateBytes.reset();
        try (PointerScope scope = new PointerScope()) {
            OutputArchive archive = new OutputArchive();
            optimizer.save(archive);
            TARGET.set(stateBytes);
            archive.save_to(WRITER);
        } finally {
            TARGET.remove();
        }
        return stateBytes.toByteArray();
    }

    private void loadState(byte[] state) {
        try (PointerScope scope = new PointerScope()) {
            InputArchive archive = new InputArchive();
            DeviceOptional device = parameters.isEmpty() ? new DeviceOptional()
                    : new DeviceOptional(parameters.get(0).device());
            archive.load_from(new BytePointer(state), state.length, device);
            optimizer.load(archive);
        }
    }

    /** SGD without momentum is the one libtorch optimizer that keeps no per-parameter state. */
    private static boolean keepsNoState(Optimizer optimizer) {
        if (!(optimizer instanceof SGD)) {
            return false;
        }
        OptimizerParamGroupVector groups = optimizer.param_groups();
        for (long g = 0; g < groups.size(); g++) {
            if (new SGDOptions(groups.get(g).options()).momentum().get() != 0) {
                return false;
            }
        }
        return true;
    }
}
