package dev.gradguard.train;

import dev.gradguard.model.Parameters;
import dev.gradguard.optim.Optimizers;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
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
 * The optimizer step, made safe: NaN and infinities never reach the weights, whatever the gradients, the
 * learning rate, the weight decay or the optimizer state hold. Before stepping it copies the parameters and
 * the optimizer state; after stepping it checks every parameter with one {@code isfinite().all()} per
 * tensor, combined into one boolean read back; when any is not finite, or the optimizer throws (libtorch
 * refuses a learning rate beyond float32's range part-way through a step), it copies both back, so the step
 * leaves the weights and the optimizer state bit-identical, as a skipped step does. A learning rate that is
 * not finite (a schedule gone wrong) is refused before anything runs.
 *
 * <p>Cost per applied step:
 * <ul>
 *   <li>the parameter copy: one read and one write of every parameter (as much memory again as the
 *       parameters, allocated once);</li>
 *   <li>the optimizer state copy: libtorch exposes an optimizer's state to Java only through its
 *       serialization, so the state is saved to an in-memory archive before each step (its size: two floats
 *       per parameter for Adam and AdamW, one for SGD with momentum, plus the archive's framing), and loaded
 *       back only when an update is undone. SGD without momentum keeps no state, and this copy is skipped;</li>
 *   <li>the check: one read of every parameter and one host sync.</li>
 * </ul>
 * {@code gradguard bench step} measures the guarded step with and without this check side by side
 * ({@code Trainer.Builder.checkUpdate(false)} turns it off); the README gives the measured share. No cheaper
 * exact restore is known with the Java binding: it exposes no accessor to the optimizer state, so the state
 * can be neither copied tensor by tensor nor checked before the step commits it.
 *
 * <p>Not covered: a non-finite value that the optimizer writes into its state but not (yet) into the
 * parameters, such as Adam's second moment overflowing float32 where the update itself stays finite. It is
 * caught when it reaches the parameters, which are then restored, and a checkpoint holding it is refused
 * when loaded. Not thread-safe.
 */
final class CheckedUpdate {
    private final Optimizer optimizer;
    private final Parameters parameters;
    private final List<Tensor> saved = new ArrayList<>();
    private final boolean stateless;
    private final boolean check;
    private final ByteArrayOutputStream stateBytes = new ByteArrayOutputStream();

    /** Where {@link #WRITER} writes, set around each {@code save_to} on the calling thread. */
    private static final ThreadLocal<ByteArrayOutputStream> TARGET = new ThreadLocal<>();
    /**
     * One callback for every instance: JavaCPP keeps a small fixed number of native thunks per callback class,
     * and one per trainer would run out (a null function pointer, a SIGSEGV) in a process that builds many.
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

    /**
     * @param check whether to check the update at all; without the check a step only keeps the withheld
     *     parameters out of the optimizer step, and copies nothing
     */
    CheckedUpdate(Parameters parameters, Optimizer optimizer, boolean check) {
        this.optimizer = optimizer;
        this.parameters = parameters;
        this.check = check;
        if (check) {
            try (NoGradGuard noGrad = new NoGradGuard()) {
                for (Tensor p : parameters) {
                    saved.add(torch.empty_like(p).retainReference());
                }
            }
        }
        this.stateless = keepsNoState(optimizer);
    }

    /**
     * Steps the optimizer at {@code lr} unless that would leave a parameter NaN or infinite.
     *
     * @param withheld the indices (in {@link Parameters} order) of parameters that received no gradient in
     *     this step, which the step leaves untouched
     * @return empty when the update was applied; otherwise what was not finite, with the parameters and the
     *     optimizer state as they were before the call
     */
    Optional<String> step(double lr, BitSet withheld) {
        if (!(Double.isFinite(lr) && lr >= 0)) {
            return Optional.of("learning rate is " + lr + " (must be finite and >= 0)");
        }
        if (!check) {
            Optimizers.setLr(optimizer, lr);
            stepWithout(withheld);
            return Optional.empty();
        }
        byte[] state = stateless ? null : saveState();
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int i = 0; i < saved.size(); i++) {
                saved.get(i).copy_(parameters.get(i));
            }
        }
        Optimizers.setLr(optimizer, lr);
        Optional<String> nonFinite;
        try {
            stepWithout(withheld);
            nonFinite = firstNonFinite();
        } catch (RuntimeException e) {
            // e.g. "value cannot be converted to type float without overflow" for lr beyond float32, thrown
            // after some parameters were updated
            nonFinite = Optional.of("the optimizer step failed: " + firstLine(e));
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

    private static String firstLine(RuntimeException e) {
        String message = String.valueOf(e.getMessage()).strip();
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    /** One combined check; the parameter is named only when it fails. */
    private Optional<String> firstNonFinite() {
        TensorVector finite = new TensorVector();
        for (Tensor p : parameters) {
            finite.push_back(torch.isfinite(p).all());
        }
        if (finite.size() == 0 || torch.stack(finite).all().item_bool()) {
            return Optional.empty();
        }
        for (int i = 0; i < parameters.size(); i++) {
            if (!finite.get(i).item_bool()) {
                return Optional.of(String.format(Locale.ROOT, "the update made parameter %s non-finite (lr %s)",
                        parameters.name(i), Optimizers.lr(optimizer)));
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
            DeviceOptional device = parameters.size() == 0 ? new DeviceOptional()
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
