package dev.gradguard.optim;

import dev.gradguard.libtorch.Operators;
import dev.gradguard.libtorch.OptimizerArchiveKeys;
import dev.gradguard.model.Parameters;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * gradguard's own SGD, Adam and AdamW, with PyTorch's semantics ({@code torch.optim.SGD}, {@code Adam},
 * {@code AdamW}) and PyTorch's fused CPU and CUDA kernels ({@code fused=True}: {@code _fused_sgd_},
 * {@code _fused_adam_}, {@code _fused_adamw_}), one native call for all the parameters a step updates. Built
 * by {@link Optimizers#create}.
 *
 * <p>gradguard holds the optimizer state (momentum buffers, Adam's moments and step counts), allocated when the
 * optimizer is built, so a {@linkplain #checkedStep checked step} costs little: one {@code _foreach_copy_} of
 * the parameters and the state into buffers allocated at the first checked step, the update, one
 * {@code _foreach_norm} (2-norms, summed: NaN and infinities propagate through them; the exact infinity norm
 * only when that sum is not finite) over the parameters and the state with one host sync, and, only when
 * something is not finite, one copy back. Unlike libtorch's optimizers stepped through
 * {@link LibtorchOptimizer}, this also refuses an update that leaves the state, not only the parameters,
 * non-finite.
 *
 * <p>The state is saved in libtorch's archive layout under the parameters' indices as keys. {@link #load}
 * reads what libtorch's optimizer of the same kind saved (an older gradguard's checkpoints), so a run resumes
 * with its momentum and moments; the hyper-parameters stay this optimizer's.
 *
 * <p>All parameters must be floating point, on one device, with one dtype.
 */
public abstract sealed class FusedOptimizer implements TrainingOptimizer permits FusedSgd, FusedAdam {
    private static final OperatorHandle COPY = Operators.find("aten::_foreach_copy_", "");
    private static final OperatorHandle NORM = Operators.find("aten::_foreach_norm", "Scalar");
    /** How many sets of included parameters keep their argument lists; a model's unused set rarely varies. */
    private static final int CACHED_SETS = 8;

    private final OptimizerSpec spec;
    private final Parameters parameters;
    private final List<String> slotNames;
    /** {@code state[slot][parameter]}, the tensors the kernels update in place. */
    private final Tensor[][] state;
    /** Whether each parameter has been updated: PyTorch creates its state then, and only those are saved. */
    private boolean[] started;
    private double lr;
    private final Map<BitSet, IValue[]> lists = new HashMap<>();
    private IValue live;
    private IValue liveForCheck;
    private IValue snapshot;
    private List<String> checkedNames;

    /**
     * @param slotNames the state tensors each parameter has, as libtorch's archives name them
     */
    FusedOptimizer(OptimizerSpec spec, Parameters parameters, List<String> slotNames) {
        requireOneDeviceAndDtype(parameters);
        this.spec = spec;
        this.parameters = parameters;
        this.slotNames = List.copyOf(slotNames);
        this.lr = spec.lr();
        this.started = new boolean[parameters.size()];
        this.state = new Tensor[slotNames.size()][parameters.size()];
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int s = 0; s < slotNames.size(); s++) {
                for (int i = 0; i < parameters.size(); i++) {
                    state[s][i] = newState(slotNames.get(s), parameters.get(i)).retainReference();
                }
            }
        }
    }

    /** A zero state tensor for {@code parameter} (PyTorch's initial value for every state it keeps). */
    abstract Tensor newState(String slot, Tensor parameter);

    /**
     * Applies the update to the {@code included} parameters, with one kernel call for all of them where the
     * kernel allows it (argument lists from {@link #lists} and {@link #grads}).
     *
     * @param started the included parameters that already have state
     */
    abstract void update(double lr, BitSet included, BitSet started);

    /** Writes this optimizer's hyper-parameters, as libtorch's options archive of the same kind names them. */
    abstract void saveOptions(OutputArchive options);

    /** The configuration this optimizer was built with. */
    public OptimizerSpec spec() {
        return spec;
    }

    @Override
    public List<Tensor> parameters() {
        return parameters.tensors();
    }

    @Override
    public double lr() {
        return lr;
    }

    /** gradguard's kind: {@code gradguard.} and libtorch's class name of the same optimizer. */
    @Override
    public String kind() {
        return "gradguard." + libtorchKind();
    }

    /** Reads its own archives and those of libtorch's optimizer of the same kind. */
    @Override
    public boolean reads(String savedKind) {
        return savedKind.equals(kind()) || savedKind.equals(libtorchKind());
    }

    /** libtorch's class name of the same optimizer: {@code SGD}, {@code Adam} or {@code AdamW}. */
    abstract String libtorchKind();

    @Override
    public void step(double lr, BitSet withheld) {
        if (!(Double.isFinite(lr) && lr >= 0)) {
            throw new IllegalArgumentException("lr must be finite and >= 0, got " + lr);
        }
        apply(lr, withheld);
    }

    @Override
    public Optional<String> checkedStep(double lr, BitSet withheld) {
        if (!(Double.isFinite(lr) && lr >= 0)) {
            return Optional.of("learning rate is " + lr + " (must be finite and >= 0)");
        }
        prepareSnapshot();
        boolean[] startedBefore = started.clone();
        double lrBefore = this.lr;
        copy(snapshot, live);
        Optional<String> nonFinite;
        try {
            apply(lr, withheld);
            nonFinite = firstNonFinite(lr);
        } catch (RuntimeException e) {
            nonFinite = Optional.of("the optimizer step failed: " + Optimizers.firstLine(e));
        }
        if (nonFinite.isPresent()) {
            copy(live, snapshot);
            started = startedBefore;
            this.lr = lrBefore;
        }
        return nonFinite;
    }

    private static void copy(IValue into, IValue from) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            COPY.callBoxed(new IValueVector(into, from, new IValue(false)));
        }
    }

    private void apply(double lr, BitSet withheld) {
        this.lr = lr;
        BitSet included = new BitSet();
        included.set(0, parameters.size());
        included.andNot(withheld);
        if (included.isEmpty()) {
            return;
        }
        BitSet alreadyStarted = new BitSet();
        for (int i = included.nextSetBit(0); i >= 0; i = included.nextSetBit(i + 1)) {
            if (started[i]) {
                alreadyStarted.set(i);
            }
        }
        try (NoGradGuard noGrad = new NoGradGuard()) {
            update(lr, included, alreadyStarted);
        }
        for (int i = included.nextSetBit(0); i >= 0; i = included.nextSetBit(i + 1)) {
            started[i] = true;
        }
    }

    /**
     * The argument lists of the parameters in {@code set} (element 0) and of each state slot (then, in order),
     * kept for the next steps.
     */
    IValue[] lists(BitSet set) {
        IValue[] cached = lists.get(set);
        if (cached == null) {
            if (lists.size() >= CACHED_SETS) {
                lists.values().forEach(FusedOptimizer::release);
                lists.clear();
            }
            cached = new IValue[1 + state.length];
            cached[0] = Operators.tensorList(select(parameters.tensors(), set)).retainReference();
            for (int s = 0; s < state.length; s++) {
                cached[1 + s] = Operators.tensorList(select(Arrays.asList(state[s]), set)).retainReference();
            }
            lists.put((BitSet) set.clone(), cached);
        }
        return cached;
    }

    private static void release(IValue[] values) {
        for (IValue v : values) {
            v.releaseReference();
        }
    }

    /**
     * The gradients of the parameters in {@code set}, read anew every step: a gradient tensor can be replaced
     * between steps (a backward into an undefined gradient, {@code zero_grad(true)}).
     */
    IValue grads(BitSet set) {
        List<Tensor> grads = new ArrayList<>(set.cardinality());
        for (int i = set.nextSetBit(0); i >= 0; i = set.nextSetBit(i + 1)) {
            Tensor grad = parameters.get(i).grad();
            if (!grad.defined()) {
                throw new IllegalArgumentException("parameter '" + parameters.name(i) + "' has no gradient: "
                        + "withhold it from the step");
            }
            grads.add(grad);
        }
        return Operators.tensorList(grads);
    }

    static List<Tensor> select(List<Tensor> tensors, BitSet set) {
        List<Tensor> selected = new ArrayList<>(set.cardinality());
        for (int i = set.nextSetBit(0); i >= 0; i = set.nextSetBit(i + 1)) {
            selected.add(tensors.get(i));
        }
        return selected;
    }

    /** The lists of everything a step changes, and the buffers that hold them before a checked step. */
    private void prepareSnapshot() {
        if (snapshot != null) {
            return;
        }
        List<Tensor> all = new ArrayList<>(parameters.tensors());
        List<String> names = new ArrayList<>(parameters.names());
        for (int s = 0; s < state.length; s++) {
            all.addAll(Arrays.asList(state[s]));
            for (String name : parameters.names()) {
                names.add(slotNames.get(s) + " of " + name);
            }
        }
        List<Tensor> buffers = new ArrayList<>(all.size());
        List<Tensor> checked = new ArrayList<>();
        checkedNames = new ArrayList<>();
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int i = 0; i < all.size(); i++) {
                buffers.add(torch.empty_like(all.get(i)).retainReference());
                // the infinity norm of an empty tensor is an error, and it has nothing to check
                if (all.get(i).numel() > 0) {
                    checked.add(all.get(i));
                    checkedNames.add(names.get(i));
                }
            }
        }
        live = Operators.tensorList(all).retainReference();
        liveForCheck = Operators.tensorList(checked).retainReference();
        snapshot = Operators.tensorList(buffers).retainReference();
    }

    /**
     * One combined check and one host sync; the tensor is named only when it fails. The sum of the tensors'
     * 2-norms is finite exactly when every element is, unless a sum of squares or of norms overflows float32
     * (elements beyond about 1e19): NaN and infinities propagate through both sums. Only when it is not finite
     * does the exact check run: the infinity norm of each tensor (no finite value overflows it), a slower
     * kernel on the CPU.
     */
    private Optional<String> firstNonFinite(double lr) {
        if (checkedNames.isEmpty()) {
            return Optional.empty();
        }
        if (Double.isFinite(torch.stack(norms(2)).sum().item_double())) {
            return Optional.empty();
        }
        TensorVector norms = norms(Double.POSITIVE_INFINITY);
        for (int i = 0; i < norms.size(); i++) {
            if (!torch.isfinite(norms.get(i)).item_bool()) {
                return Optional.of(String.format(Locale.ROOT, "the update made %s non-finite (lr %s)",
                        describe(checkedNames.get(i)), lr));
            }
        }
        return Optional.empty();
    }

    /** The {@code p}-norm of each checked tensor, in one {@code _foreach_norm} call. */
    private TensorVector norms(double p) {
        IValueVector stack = new IValueVector(liveForCheck, new IValue(new Scalar(p)), new IValue());
        NORM.callBoxed(stack);
        return stack.get(0).toTensorVector();
    }

    private static String describe(String name) {
        return name.contains(" of ") ? name : "parameter " + name;
    }

    /**
     * Writes libtorch's optimizer archive layout: {@code state/<i>/<slot>} for every parameter {@code i} that has
     * state, and one parameter group listing the keys in order with this optimizer's options.
     */
    @Override
    public void save(OutputArchive archive) {
        try (PointerScope scope = new PointerScope()) {
            OutputArchive stateArchive = new OutputArchive();
            for (int i = 0; i < parameters.size(); i++) {
                if (!started[i]) {
                    continue;
                }
                OutputArchive entry = new OutputArchive();
                for (int s = 0; s < state.length; s++) {
                    if (slotNames.get(s).equals("step")) {
                        entry.write("step", new IValue(Math.round(state[s][i].item_double())));
                    } else {
                        entry.write(slotNames.get(s), state[s][i].clone());
                    }
                }
                stateArchive.write(String.valueOf(i), entry);
            }
            archive.write("state", stateArchive);
            OutputArchive group = new OutputArchive();
            group.write("params/size", longScalar(parameters.size()));
            for (int i = 0; i < parameters.size(); i++) {
                group.write("params/" + i, new IValue(String.valueOf(i)));
            }
            OutputArchive options = new OutputArchive();
            options.write("lr", new IValue(lr));
            saveOptions(options);
            group.write("options", options);
            OutputArchive groups = new OutputArchive();
            groups.write("param_groups/size", longScalar(1));
            groups.write("param_groups/0", group);
            archive.write("param_groups", groups);
        }
    }

    private static Tensor longScalar(long value) {
        return torch.scalar_tensor(new Scalar(value), new TensorOptions(torch.ScalarType.Long));
    }

    /**
     * Reads the state saved by this kind of optimizer or by libtorch's of the same kind (see
     * {@link #reads}): every tensor is read and checked before any is copied, so a failure leaves this optimizer
     * unchanged.
     *
     * @throws IllegalArgumentException naming the first thing that does not fit: the parameter count, a
     *     state tensor's shape, a state this optimizer does not keep (AMSGrad's)
     */
    @Override
    public void load(InputArchive archive) {
        try (PointerScope scope = new PointerScope()) {
            List<String> keys = OptimizerArchiveKeys.parameterKeys(archive);
            if (keys.size() != parameters.size()) {
                throw new IllegalArgumentException("the optimizer state is for " + keys.size()
                        + " parameters, this optimizer has " + parameters.size());
            }
            InputArchive stateArchive = new InputArchive();
            boolean hasState = archive.try_read("state", stateArchive);
            boolean[] loadedStarted = new boolean[parameters.size()];
            Tensor[][] loaded = new Tensor[state.length][parameters.size()];
            for (int i = 0; i < parameters.size(); i++) {
                InputArchive entry = new InputArchive();
                if (!hasState || !stateArchive.try_read(keys.get(i), entry)) {
                    continue;
                }
                loadedStarted[i] = true;
                readEntry(entry, i, loaded);
            }
            try (NoGradGuard noGrad = new NoGradGuard()) {
                for (int s = 0; s < state.length; s++) {
                    for (int i = 0; i < parameters.size(); i++) {
                        if (loaded[s][i] != null) {
                            state[s][i].copy_(loaded[s][i]);
                        } else {
                            state[s][i].zero_();
                        }
                    }
                }
            }
            started = loadedStarted;
        }
    }

    private void readEntry(InputArchive entry, int i, Tensor[][] into) {
        List<String> names = new ArrayList<>();
        var keys = entry.keys();
        for (long k = 0; k < keys.size(); k++) {
            names.add(keys.get(k).getString());
        }
        for (String name : names) {
            if (!slotNames.contains(name)) {
                throw new IllegalArgumentException("the optimizer state of parameter '" + parameters.name(i)
                        + "' holds " + name + ", which " + kind() + " with these options does not keep");
            }
        }
        for (int s = 0; s < state.length; s++) {
            String slot = slotNames.get(s);
            if (!names.contains(slot)) {
                throw new IllegalArgumentException("the optimizer state of parameter '" + parameters.name(i)
                        + "' lacks " + slot);
            }
            IValue value = new IValue();
            entry.read(slot, value);
            Tensor target = state[s][i];
            Tensor t;
            if (slot.equals("step")) {
                t = value.isTensor() ? value.toTensor() : torch.scalar_tensor(new Scalar(value.toInt()));
            } else {
                t = value.toTensor();
                if (!Arrays.equals(t.sizes().vec().get(), target.sizes().vec().get())) {
                    throw new IllegalArgumentException(slot + " of parameter '" + parameters.name(i) + "' has shape "
                            + Arrays.toString(t.sizes().vec().get()) + ", the parameter "
                            + Arrays.toString(target.sizes().vec().get()));
                }
            }
            into[s][i] = t.to(target.device(), target.scalar_type());
        }
    }

    private static void requireOneDeviceAndDtype(Parameters parameters) {
        String first = parameters.size() == 0 ? "" : kindOf(parameters.get(0));
        for (int i = 0; i < parameters.size(); i++) {
            Tensor p = parameters.get(i);
            if (!p.is_floating_point()) {
                throw new IllegalArgumentException("parameter '" + parameters.name(i) + "' is " + p.scalar_type()
                        + ": gradguard's optimizers update floating-point parameters only");
            }
            String kind = kindOf(p);
            if (!kind.equals(first)) {
                throw new IllegalArgumentException("parameter '" + parameters.name(i) + "' is " + kind + ", parameter '"
                        + parameters.name(0) + "' " + first + ": gradguard's optimizers need one device and dtype "
                        + "(LibtorchOptimizer takes mixed ones)");
            }
        }
    }

    private static String kindOf(Tensor t) {
        return t.scalar_type() + " on " + t.device().type() + ":" + t.device().index();
    }
}
