package dev.gradguard.clip;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongArrayRefOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Gradient clipping with the semantics of PyTorch 2.6+ {@code torch.nn.utils}: {@code clip_grad_norm_},
 * {@code get_total_norm}, {@code clip_grads_with_norm_} and {@code clip_grad_value_}.
 *
 * <h2>Semantics (as in PyTorch)</h2>
 * <ul>
 *   <li>Parameters whose gradient is undefined are skipped. With no gradient at all, the norm is a 0-dim
 *       float32 {@code 0.} on the CPU and nothing changes.</li>
 *   <li>The total norm is the {@code p}-norm of the per-tensor {@code p}-norms,
 *       {@code vector_norm(stack([vector_norm(g, p) for g in grads]), p)}, which for finite {@code p} equals
 *       the {@code p}-norm of all gradients concatenated and for {@code p = inf} is {@code max |g|}. As in
 *       PyTorch, the gradients are grouped by (device, dtype) in order of first appearance, each group's
 *       norms come from one {@code _foreach_norm}, and the stack holds the groups one after another. Each
 *       tensor's norm is one float32 reduction, which drifts with the tensor's size: measured against
 *       float64, 2e-5 relative for ResNet-50's gradients and 3e-4 for BERT-base's (its 23M-element word
 *       embedding), as in libtorch; {@link GradBuffer} reduces in rows and stays near 1e-8.
 *       The norm is a 0-dim tensor on the first gradient's device, in the gradients' dtype; when their
 *       dtypes differ, {@code stack} promotes them as in PyTorch (float32 with float64 gives float64).
 *       Each float32 or float64 tensor's norm is computed in its own dtype, so a float32 gradient whose
 *       {@code sum |g|^p} overflows float32 has an infinite norm, exactly as in PyTorch.</li>
 *   <li>For {@code p = inf} an empty gradient (0 elements) is an {@link IllegalArgumentException}: PyTorch
 *       raises "_foreach_norm cannot compute the infinity norm on an empty tensor", and libtorch's C++
 *       {@code clip_grad_norm_} throws too, since {@code max} over no elements has no value. For finite
 *       {@code p} an empty gradient contributes 0.</li>
 *   <li>{@code coef = maxNorm / (norm + 1e-6)}, clamped to at most 1 (never below), and every gradient is
 *       multiplied by it. The division is computed as PyTorch's {@code Tensor.__rtruediv__} does,
 *       {@code reciprocal(norm + 1e-6) * maxNorm}.</li>
 *   <li>Non-finite norms propagate as in PyTorch: an infinite norm gives {@code coef = 0}, so finite
 *       gradients become 0 and infinite entries NaN; a NaN norm makes every gradient NaN. Ask for
 *       {@code errorIfNonfinite} (or guard the optimizer step) to catch this.</li>
 *   <li>{@link #clipGradValue} clamps every element to {@code [-clipValue, clipValue]}, both sides.</li>
 * </ul>
 *
 * <h2>Where this deliberately differs from PyTorch</h2>
 * <ul>
 *   <li><b>Aliased gradients count once.</b> PyTorch counts a parameter listed twice twice in the norm
 *       and multiplies its gradient twice. Here gradients that are the same memory (same device, dtype,
 *       data pointer, sizes and strides, which also catches two Java wrappers of one tensor) are counted
 *       and scaled once. Partially overlapping views are not detected.</li>
 *   <li><b>Half and bfloat16 norms stay float32.</b> PyTorch, too, accumulates {@code sum |g|^p} of a half
 *       or bfloat16 gradient in float32, but it rounds each tensor's norm, the total norm and the coefficient
 *       to the gradient's dtype. Here they stay float32: the returned norm is float32, and the gradients keep
 *       their dtype. So a total norm above 65504 (float16's largest value) is finite here, and the gradients
 *       are clipped to {@code maxNorm}, where PyTorch's norm is inf and its coefficient 0 zeroes every
 *       gradient; below that, the norm differs from PyTorch's by at most float16's (bfloat16's) rounding,
 *       and a clipped gradient by about one unit in its last place.</li>
 *   <li>{@code normType = 0} is rejected: libtorch's C++ {@code clip_grad_norm_} returns the number of
 *       gradients for it, which is not a norm. Negative and NaN arguments are rejected too.</li>
 * </ul>
 *
 * <h2>Cost and host syncs</h2>
 * PyTorch 2.13's path, on the CPU too: per (device, dtype) group one {@code _foreach_norm} and one
 * {@code _foreach_mul_} (the binding has no functions for them; they are called through libtorch's
 * dispatcher, one native call per group rather than one per tensor), then one {@code stack} and one norm for
 * the total. On the CPU libtorch runs the foreach operators tensor by tensor in C++, with the values of
 * {@code linalg_vector_norm} and {@code mul_} on each tensor; on CUDA they are PyTorch's fused kernels.
 * When the coefficient is on the CPU and exactly 1, the multiply is skipped: reading a CPU tensor costs no
 * device sync, and multiplying by 1 changes no value. Off the CPU the multiply always runs and nothing is
 * read back to the host, except for {@code errorIfNonfinite = true}, which costs one sync to check the norm.
 * On the CPU, gradients that lie one after another in memory, as a {@link GradBuffer}'s views do, cost fewer
 * native calls for the same values: a run of equal-size ones has its 2-norms taken as the rows of one matrix
 * (libtorch reduces each row with the very function that reduces a whole tensor, so each norm is the per-tensor
 * one, bit for bit), and gradients that tile one contiguous range are scaled as a few pieces of that range, from
 * its end, which the norm pass read last (every element is multiplied on its own by the same coefficient, so this
 * changes no value).
 * Nothing is cached from one call to the next: each call reads the parameters' current gradients (their data
 * addresses, devices and dtypes), so a gradient replaced, dropped or moved between calls is clipped as it is now.
 *
 * <h2>Memory</h2>
 * Temporaries are freed before each method returns; a returned norm belongs to the caller's
 * {@link PointerScope} if one is open (otherwise to the garbage collector). Tensors passed in are never
 * closed. Autograd is off inside (PyTorch's {@code @no_grad}).
 *
 * <p>Not thread-safe with respect to the gradients: do not clip the same gradients from two threads.
 */
public final class ClipGrad {
    /** PyTorch's {@code 1e-6} in {@code max_norm / (total_norm + 1e-6)}. */
    private static final double EPS = 1e-6;

    private ClipGrad() {
    }

    /** {@link #clipGradNorm(Iterable, double, double, boolean)} with the 2-norm and no finiteness check. */
    public static Tensor clipGradNorm(Iterable<Tensor> parameters, double maxNorm) {
        return clipGradNorm(parameters, maxNorm, 2.0, false);
    }

    /** {@link #clipGradNorm(Iterable, double)} over a {@code Module.parameters()} vector. */
    public static Tensor clipGradNorm(TensorVector parameters, double maxNorm) {
        return clipGradNorm(asList(parameters, "parameters"), maxNorm);
    }

    /**
     * Scales the parameters' gradients in place so that their total {@code normType}-norm is at most
     * {@code maxNorm}; PyTorch's {@code clip_grad_norm_}.
     *
     * @param parameters the parameters; those without a gradient are skipped
     * @param maxNorm the largest total norm allowed, {@code >= 0} ({@code Double.POSITIVE_INFINITY} never
     *     clips a finite norm)
     * @param normType the order {@code p > 0} of the norm, {@code Double.POSITIVE_INFINITY} for the max norm
     * @param errorIfNonfinite when true, reads the norm back (a host sync) and throws if it is NaN or
     *     infinite, before changing anything
     * @return the total norm before clipping, a 0-dim tensor on the first gradient's device
     * @throws IllegalArgumentException if {@code maxNorm} is negative or NaN, or {@code normType} is not
     *     positive
     * @throws NonFiniteNormException if {@code errorIfNonfinite} and the total norm is NaN or infinite
     */
    public static Tensor clipGradNorm(Iterable<Tensor> parameters, double maxNorm, double normType,
            boolean errorIfNonfinite) {
        checkMaxNorm(maxNorm);
        checkNormType(normType);
        List<Tensor> params = toList(parameters, "parameters");
        Tensor result = new Tensor();
        inNoGradScope(() -> {
            List<Foreach.Group> groups = GradientGroups.ofParameters(params);
            Tensor total = totalNorm(groups, normType, errorIfNonfinite);
            scale(groups, maxNorm, total);
            result.put(total);
        });
        return result;
    }

    /** {@link #clipGradNorm(Iterable, double, double, boolean)} over a {@code Module.parameters()} vector. */
    public static Tensor clipGradNorm(TensorVector parameters, double maxNorm, double normType,
            boolean errorIfNonfinite) {
        return clipGradNorm(asList(parameters, "parameters"), maxNorm, normType, errorIfNonfinite);
    }

    /**
     * The total {@code normType}-norm of gradient tensors, without changing them; PyTorch's
     * {@code get_total_norm}. With {@link #clipGradsWithNorm} it splits {@link #clipGradNorm} in two so
     * that the norm can be reduced across processes in between.
     *
     * @param gradients the GRADIENT tensors (e.g. {@code p.grad()}), not the parameters; undefined tensors
     *     are skipped and aliased ones counted once
     * @param normType the order {@code p > 0} of the norm, {@code Double.POSITIVE_INFINITY} for the max norm
     * @param errorIfNonfinite when true, reads the norm back (a host sync) and throws if it is NaN or infinite
     * @return a 0-dim tensor on the first gradient's device; {@code 0.} (float32, CPU) for no gradients
     * @throws IllegalArgumentException if {@code normType} is not positive
     * @throws NonFiniteNormException if {@code errorIfNonfinite} and the total norm is NaN or infinite
     */
    public static Tensor getTotalNorm(Iterable<Tensor> gradients, double normType, boolean errorIfNonfinite) {
        checkNormType(normType);
        List<Tensor> tensors = toList(gradients, "gradients");
        Tensor result = new Tensor();
        inNoGradScope(() -> {
            result.put(totalNorm(GradientGroups.ofGradients(tensors), normType,
                    errorIfNonfinite));
        });
        return result;
    }

    /** {@link #getTotalNorm(Iterable, double, boolean)} over a vector of gradient tensors. */
    public static Tensor getTotalNorm(TensorVector gradients, double normType, boolean errorIfNonfinite) {
        return getTotalNorm(asList(gradients, "gradients"), normType, errorIfNonfinite);
    }

    /**
     * Scales the parameters' gradients in place by {@code min(1, maxNorm / (totalNorm + 1e-6))}, where
     * {@code totalNorm} was computed elsewhere (e.g. by {@link #getTotalNorm} and an all-reduce); PyTorch's
     * {@code clip_grads_with_norm_}. The norm is not checked for finiteness and not read back.
     *
     * @param parameters the parameters; those without a gradient are skipped, aliased gradients scaled once
     * @param maxNorm the largest total norm allowed, {@code >= 0}
     * @param totalNorm a one-element tensor on any device; the coefficient is computed in its dtype
     * @throws IllegalArgumentException if {@code maxNorm} is negative or NaN, or {@code totalNorm} is
     *     undefined or does not hold exactly one element
     */
    public static void clipGradsWithNorm(Iterable<Tensor> parameters, double maxNorm, Tensor totalNorm) {
        checkMaxNorm(maxNorm);
        checkTotalNorm(totalNorm);
        List<Tensor> params = toList(parameters, "parameters");
        inNoGradScope(() -> scale(GradientGroups.ofParameters(params), maxNorm,
                totalNorm.reshape(new long[0])));
    }

    /** {@link #clipGradsWithNorm(Iterable, double, Tensor)} over a {@code Module.parameters()} vector. */
    public static void clipGradsWithNorm(TensorVector parameters, double maxNorm, Tensor totalNorm) {
        clipGradsWithNorm(asList(parameters, "parameters"), maxNorm, totalNorm);
    }

    /**
     * Clamps every gradient element in place to {@code [-clipValue, clipValue]}; PyTorch's
     * {@code clip_grad_value_}. NaN entries stay NaN.
     *
     * @param parameters the parameters; those without a gradient are skipped
     * @param clipValue the largest magnitude allowed, {@code >= 0}
     * @throws IllegalArgumentException if {@code clipValue} is negative or NaN
     */
    public static void clipGradValue(Iterable<Tensor> parameters, double clipValue) {
        checkClipValue(clipValue);
        List<Tensor> params = toList(parameters, "parameters");
        inNoGradScope(() -> clampAll(GradientGroups.distinctGradients(params), clipValue));
    }

    /** Clamps every element of {@code tensors} in place to {@code [-clipValue, clipValue]}. */
    static void clampAll(List<Tensor> tensors, double clipValue) {
        ScalarOptional low = new ScalarOptional(new Scalar(-clipValue));
        ScalarOptional high = new ScalarOptional(new Scalar(clipValue));
        for (Tensor t : tensors) {
            t.clamp_(low, high);
        }
    }

    /** {@link #clipGradValue(Iterable, double)} over a {@code Module.parameters()} vector. */
    public static void clipGradValue(TensorVector parameters, double clipValue) {
        clipGradValue(asList(parameters, "parameters"), clipValue);
    }

    /**
     * Runs {@code body} with autograd off (PyTorch's {@code @no_grad}: gradients that require grad may be
     * changed in place) inside its own {@link PointerScope}, which frees every native temporary the body
     * creates. What must outlive the call is copied into a tensor created before it.
     */
    @SuppressWarnings("try") // both resources act by being open; the body never names them
    static void inNoGradScope(Runnable body) {
        try (PointerScope temporaries = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            body.run();
        }
    }

    /**
     * The norm of the per-tensor norms, PyTorch's {@code _get_total_norm}: one {@code _foreach_norm} per
     * (device, dtype) group, the groups in order of first appearance, then the norm of the stacked norms on
     * the first gradient's device.
     */
    private static Tensor totalNorm(List<Foreach.Group> groups, double normType, boolean errorIfNonfinite) {
        if (groups.isEmpty()) {
            return torch.zeros(new long[0]);
        }
        if (normType == Double.POSITIVE_INFINITY) {
            checkNoneEmpty(groups);
        }
        Scalar order = new Scalar(normType);
        Tensor first = groups.get(0).first();
        Tensor norms;
        if (groups.size() == 1) {
            norms = groupNorms(groups.get(0), normType, order);
        } else {
            // stack's dtype promotion, as cat applies it to the groups' norms
            TensorVector parts = new TensorVector();
            for (Foreach.Group group : groups) {
                Tensor n = groupNorms(group, normType, order);
                parts.push_back(sameDevice(n, first) ? n : n.to(first.device(), n.scalar_type()));
            }
            norms = torch.cat(parts);
        }
        Tensor total = torch.linalg_vector_norm(norms, order, new LongArrayRefOptional(), false,
                new ScalarTypeOptional());
        if (errorIfNonfinite) {
            checkFinite(total, normType);
        }
        return total;
    }

    /** The group's per-tensor norms, stacked; half and bfloat16 accumulate in float32. */
    private static Tensor groupNorms(Foreach.Group group, double normType, Scalar order) {
        return group.norms(normType, order, accumulatesInFloat32(group.first()) ? torch.ScalarType.Float : null);
    }

    /**
     * Throws for an empty gradient under the inf norm, as PyTorch does ("_foreach_norm cannot compute the
     * infinity norm on an empty tensor"): {@code max} over no elements has no value.
     */
    private static void checkNoneEmpty(List<Foreach.Group> groups) {
        for (Foreach.Group group : groups) {
            for (Tensor g : group.tensors()) {
                if (g.numel() == 0) {
                    throw new IllegalArgumentException("normType inf needs every gradient to have elements, but one "
                            + "has shape " + Arrays.toString(g.sizes().vec().get()) + " (PyTorch raises too); use a "
                            + "finite normType or leave that parameter out");
                }
            }
        }
    }

    /** Reads {@code total} back (a host sync) and throws if it is NaN or infinite. */
    static void checkFinite(Tensor total, double normType) {
        if (!total.isfinite().item_bool()) {
            throw new NonFiniteNormException(total.item_double(), normType);
        }
    }

    /** float32 for half and bfloat16 gradients (a documented deviation); the gradient's own dtype otherwise. */
    static ScalarTypeOptional accumulationType(Tensor grad) {
        return accumulatesInFloat32(grad) ? new ScalarTypeOptional(torch.ScalarType.Float) : new ScalarTypeOptional();
    }

    private static boolean accumulatesInFloat32(Tensor grad) {
        // scalar_type() returns a fresh enum object; intern() gives the constant that == can compare
        torch.ScalarType type = grad.scalar_type().intern();
        return type == torch.ScalarType.Half || type == torch.ScalarType.BFloat16;
    }

    /** Whether two tensors are on one device; two CPU tensors are told apart without a Device object. */
    static boolean sameDevice(Tensor a, Tensor b) {
        return a.is_cpu() && b.is_cpu() || a.device().equals(b.device());
    }

    /**
     * PyTorch's {@code _clip_grads_with_norm_}: one coefficient tensor, one {@code _foreach_mul_} per
     * (device, dtype) group; nothing when the coefficient is exactly 1 on the CPU ({@link #isOneOnCpu}).
     */
    private static void scale(List<Foreach.Group> groups, double maxNorm, Tensor totalNorm) {
        if (groups.isEmpty()) {
            return;
        }
        Tensor coef = clipCoefficient(maxNorm, totalNorm);
        if (isOneOnCpu(coef)) {
            return;
        }
        List<Tensor> coefOnDevice = new ArrayList<>();
        for (Foreach.Group group : groups) {
            group.mul_(onDeviceOf(group.first(), coef, coefOnDevice));
        }
    }

    /**
     * Whether the clipping coefficient is on the CPU and exactly 1. Reading a CPU tensor costs no device
     * sync, and multiplying by 1 changes no value, so clipping that is not needed skips the multiply and
     * reads the gradients only once. Off the CPU the multiply always runs, as in PyTorch, so that nothing
     * waits for the device.
     */
    static boolean isOneOnCpu(Tensor coef) {
        return coef.is_cpu() && coef.item_double() == 1.0;
    }

    /**
     * {@code min(1, maxNorm / (totalNorm + 1e-6))} as a tensor like {@code totalNorm}, computed as Python
     * evaluates it ({@code Tensor.__rtruediv__} is {@code reciprocal() * other}); libtorch's C++
     * {@code operator/} divides instead, which can differ in the last bit.
     */
    static Tensor clipCoefficient(double maxNorm, Tensor totalNorm) {
        return totalNorm.add(new Scalar(EPS)).reciprocal_().mul_(new Scalar(maxNorm)).clamp_max_(new Scalar(1.0));
    }

    /** {@code coef} on the device of {@code target}, moved there once per device. */
    static Tensor onDeviceOf(Tensor target, Tensor coef, List<Tensor> moved) {
        if (sameDevice(coef, target)) {
            return coef;
        }
        for (Tensor c : moved) {
            if (sameDevice(c, target)) {
                return c;
            }
        }
        Tensor c = coef.to(target.device(), coef.scalar_type());
        moved.add(c);
        return c;
    }

    private static List<Tensor> toList(Iterable<Tensor> tensors, String name) {
        Objects.requireNonNull(tensors, name);
        List<Tensor> list = new ArrayList<>();
        for (Tensor t : tensors) {
            list.add(Objects.requireNonNull(t, () -> name + " holds null at index " + list.size()));
        }
        return list;
    }

    private static List<Tensor> asList(TensorVector vector, String name) {
        return Arrays.asList(Objects.requireNonNull(vector, name).get());
    }

    static void checkTotalNorm(Tensor totalNorm) {
        Objects.requireNonNull(totalNorm, "totalNorm");
        if (!totalNorm.defined() || totalNorm.numel() != 1) {
            throw new IllegalArgumentException("totalNorm must be a one-element tensor (as getTotalNorm returns), got "
                    + (totalNorm.defined() ? "a tensor of shape " + Arrays.toString(totalNorm.sizes().vec().get())
                            : "an undefined tensor"));
        }
    }

    static void checkClipValue(double clipValue) {
        if (!(clipValue >= 0)) {
            throw new IllegalArgumentException("clipValue must be a number >= 0 (gradients are clamped to "
                    + "[-clipValue, clipValue]), got " + clipValue);
        }
    }

    static void checkMaxNorm(double maxNorm) {
        if (!(maxNorm >= 0)) {
            throw new IllegalArgumentException("maxNorm must be a number >= 0 (0 zeroes every gradient, "
                    + "Double.POSITIVE_INFINITY never clips a finite norm), got " + maxNorm);
        }
    }

    static void checkNormType(double normType) {
        if (!(normType > 0)) {
            throw new IllegalArgumentException("normType must be > 0: 1, 2, any p > 0, or "
                    + "Double.POSITIVE_INFINITY for the max norm; got " + normType
                    + (normType == 0 ? " (libtorch's C++ clip_grad_norm_ returns the number of gradients for 0,"
                            + " which is not a norm)" : ""));
        }
    }

    /** {@code x} as Python prints a float ({@code 2.0}, {@code inf}, {@code nan}), for messages. */
    static String pythonFloat(double x) {
        if (Double.isNaN(x)) {
            return "nan";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "inf" : "-inf";
        }
        return Double.toString(x);
    }
}
