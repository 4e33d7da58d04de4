package dev.gradguard.clip;

import dev.gradguard.model.Parameters;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.LongArrayRefOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Parameters whose gradients are views into one contiguous buffer per (device, dtype), so that
 * {@code backward()} accumulates straight into the buffer and clipping costs one reduction and at most one
 * multiply per buffer instead of one of each per parameter.
 *
 * <h2>Semantics</h2>
 * {@link #clipNorm}, {@link #totalNorm}, {@link #clipGradsWithNorm} and {@link #clipValue} have exactly the
 * semantics of {@link ClipGrad}'s {@code clipGradNorm}, {@code getTotalNorm}, {@code clipGradsWithNorm} and
 * {@code clipGradValue} (PyTorch's {@code torch.nn.utils}, with ClipGrad's documented deviations): the
 * pre-clip norm comes back as a 0-dim tensor on the first parameter's device, half and bfloat16 norms in
 * float32; {@code coef = min(1, maxNorm / (norm + 1e-6))} is computed by ClipGrad's own code; NaN and
 * infinite norms propagate as there. What differs, and why:
 * <ul>
 *   <li><b>Every bound parameter has a gradient.</b> Binding gives parameters without one a zero view, so
 *       they count as zeros in the norm (which changes no value) and an optimizer steps them even when a
 *       step gives them no gradient (weight decay, momentum), as with PyTorch's
 *       {@code zero_grad(set_to_none=False)} or DDP's {@code gradient_as_bucket_view}. With several buffers
 *       the norm's dtype promotion therefore includes every buffer's dtype.</li>
 *   <li><b>Parameters that do not require grad are skipped; a parameter listed twice is bound once</b>
 *       (the same C++ tensor, even through two Java wrappers).</li>
 *   <li><b>One reduction per buffer for the 2-norm and the inf norm.</b> For {@code p = 2} each buffer is
 *       padded with zeros to a whole number of rows of {@value #ROW_LENGTH} elements, reduced per row
 *       ({@code linalg_vector_norm(rows, 2, dim 1)}, libtorch's vectorized kernel) and then over the row
 *       norms: one float32 reduction over tens of millions of elements drifts by about 1e-3 relative, rows
 *       stay within about 1e-7 of the float64 answer. For {@code p = inf} one {@code aminmax} pass gives
 *       {@code max(|min|, |max|)}, which is exact. The padding is zero and stays zero: scaling,
 *       clamping and zeroing touch only the gradients, so it never shows in a result.</li>
 *   <li>Other orders are reduced as rows of {@value #SHORT_ROW} elements whose norms are combined in
 *       float64: libtorch keeps one serial float32 sum per row for them, in which a large gradient absorbs
 *       the small ones after it (rows of 8192 lost 1.5e-5 relative on a {@code p = 3} case), while one
 *       float32 sum over a whole 10M-element gradient, as in ClipGrad, loses about 1e-3 for {@code p = 1}.
 *       A float32 sum of {@code |g|^p} beyond float32's range still gives an infinite norm, as in
 *       ClipGrad.</li>
 *   <li>libtorch takes the norm of a single-element tensor as {@code |g|}, without raising it to the power
 *       p: a one-element float32 gradient whose {@code |g|^p} overflows float32 has a finite norm in ClipGrad
 *       when it is the only gradient or is promoted to float64 beside float64 gradients, and an infinite
 *       one here.</li>
 *   <li>A float32 0-dim gradient scaled by a float64 coefficient (float32 and float64 gradients mixed) is
 *       rounded once in ClipGrad and PyTorch, where two 0-dim tensors promote to float64, and twice here,
 *       where it is part of a 1-dim buffer: the last bit can differ.</li>
 * </ul>
 *
 * <h2>Keeping the gradients bound</h2>
 * <ul>
 *   <li>Zero gradients with {@link #zero()} (one {@code zero_} per buffer) or {@code Module.zero_grad(false)}:
 *       both keep the views. <b>{@code Optimizer.zero_grad()} throws</b> ("Can't detach views in-place"):
 *       it detaches each gradient in place first, which libtorch forbids for views.</li>
 *   <li>{@code Module.zero_grad(true)} (gradients set undefined), assigning a new gradient tensor, or a
 *       {@code backward} with {@code create_graph} (which replaces gradients) unbind a parameter. Every
 *       operation starts by checking each parameter's gradient: still the tensor last found bound (one
 *       native call), or else a tensor whose data pointer is its address in the buffer; no device work.
 *       In {@link Mode#REBIND} (the default) a parameter found unbound is bound again: the values of its
 *       current gradient are copied into its slot (zeros when it has none) and {@link #rebinds()} counts it.
 *       In {@link Mode#STRICT} the operation throws {@link IllegalStateException} naming the parameter.
 *       Either way a stale buffer is never clipped, with one exception: a gradient tensor given other
 *       storage in place ({@code p.grad().set_(...)}) is still the same tensor and is not detected.</li>
 *   <li>A parameter belongs to one GradBuffer at a time: binding it to another unbinds it from this one.</li>
 * </ul>
 *
 * <h2>Memory</h2>
 * The buffers are allocated by {@code bind} and kept past any {@link PointerScope} open at that moment
 * (they are retained); they are freed by the garbage collector with this object once the parameters no
 * longer hold their gradient views. Each operation frees its temporaries before returning; a returned norm
 * or view belongs to the caller's {@code PointerScope} if one is open. Autograd is off inside.
 *
 * <p>Not thread-safe: do not use one GradBuffer, or its parameters' gradients, from two threads at once.
 */
public final class GradBuffer {
    /** Elements per row of the norm reduction: long enough to stream, short enough to stay precise. */
    static final long ROW_LENGTH = 8192;
    /** Elements per row for the orders other than 2 and inf; divides {@link #ROW_LENGTH}. */
    static final long SHORT_ROW = 256;
    /** libtorch runs an operation over fewer elements than this on the calling thread (at::internal::GRAIN_SIZE). */
    static final long SERIAL_GRAIN = 32768;
    /**
     * CPU buffers up to this many elements (2 MB of float32) are scaled, zeroed, clamped and 2-norm-reduced in
     * chunks of fewer than {@link #SERIAL_GRAIN} elements, on the calling thread. One thread streams such a
     * buffer in a few hundred microseconds; a parallel pass saves at most half of that on idle cores, but
     * every libtorch parallel region waits for all its threads, and on a busy machine one that is not
     * scheduled costs milliseconds (1,000 x 256 floats, 2 busy cores: 13 ms parallel, 0.24 ms chunked).
     */
    static final long SERIAL_LIMIT = 1 << 19;

    /** How many rows of {@code cols} elements make a chunk that libtorch runs on the calling thread (at least 1). */
    static long serialChunkRows(long cols) {
        return Math.max(1, (SERIAL_GRAIN - 1) / cols);
    }

    /** What an operation does when it finds a parameter's gradient no longer in the buffer. */
    public enum Mode {
        /** Bind it again, copying its current gradient into the buffer, and count it in {@link #rebinds()}. */
        REBIND,
        /** Throw {@link IllegalStateException} naming the parameter. */
        STRICT
    }

    private final Mode mode;
    private final List<Slot> slots;
    private final List<Buffer> buffers;
    private long rebinds;
    private boolean unbound;
    private double cachedOrderValue = Double.NaN;
    private Scalar cachedOrder;

    private GradBuffer(Mode mode, List<Slot> slots, List<Buffer> buffers) {
        this.mode = mode;
        this.slots = List.copyOf(slots);
        this.buffers = List.copyOf(buffers);
    }

    /** {@link #bind(Iterable, Mode)} in {@link Mode#REBIND}. */
    public static GradBuffer bind(Iterable<Tensor> parameters) {
        return bind(parameters, Mode.REBIND);
    }

    /** {@link #bind(Iterable, Mode)} over a {@code Module.parameters()} vector, in {@link Mode#REBIND}. */
    public static GradBuffer bind(TensorVector parameters) {
        return bind(parameters, Mode.REBIND);
    }

    /** {@link #bind(Iterable, Mode)} over a {@code Module.parameters()} vector. */
    public static GradBuffer bind(TensorVector parameters, Mode mode) {
        return bind(Arrays.asList(Objects.requireNonNull(parameters, "parameters").get()), mode);
    }

    /**
     * Makes the gradient of every parameter that requires grad a view into one zero-padded buffer per
     * (device, dtype), in parameter order. A gradient the parameter already has is copied into its view;
     * a parameter without one gets zeros.
     *
     * @param parameters the parameters, e.g. {@link Parameters} (whose names then appear in messages);
     *     those that do not require grad are skipped, one listed twice is bound once
     * @param mode what to do when a gradient is later found unbound
     * @return the binding; the parameters' gradients are its views from now on
     * @throws NullPointerException if {@code parameters}, one of them, or {@code mode} is null
     */
    public static GradBuffer bind(Iterable<Tensor> parameters, Mode mode) {
        Objects.requireNonNull(parameters, "parameters");
        Objects.requireNonNull(mode, "mode");
        List<String> names = parameters instanceof Parameters named ? named.names() : null;
        Map<String, List<Slot>> groups = new LinkedHashMap<>();
        Set<Long> seen = new HashSet<>();
        int index = 0;
        for (Tensor p : parameters) {
            Objects.requireNonNull(p, "parameter " + index);
            String name = names != null ? names.get(index) : "parameter " + index;
            index++;
            if (!p.requires_grad() || !seen.add(p.unsafeGetTensorImpl().address())) {
                continue;
            }
            Slot slot = new Slot(keep(new Tensor(p)), name, p.sizes().vec().get(), p.numel());
            groups.computeIfAbsent(p.device().str().getString() + "/" + p.scalar_type().intern(),
                    key -> new ArrayList<>()).add(slot);
        }
        List<Slot> slots = new ArrayList<>();
        List<Buffer> buffers = new ArrayList<>();
        ClipGrad.inNoGradScope(() -> {
            Device first = null;
            for (List<Slot> group : groups.values()) {
                Buffer buffer = Buffer.allocate(group, first);
                first = first == null ? keep(buffer.values.device()) : first;
                buffers.add(buffer);
                long offset = 0;
                for (Slot slot : group) {
                    slot.attach(buffer, offset);
                    offset += slot.numel;
                    slots.add(slot);
                }
            }
        });
        return new GradBuffer(mode, slots, buffers);
    }

    /** {@link #clipNorm(double, double, boolean)} with the 2-norm and no finiteness check. */
    public Tensor clipNorm(double maxNorm) {
        return clipNorm(maxNorm, 2.0, false);
    }

    /** {@link #clipNorm(double, double, boolean)} with no finiteness check. */
    public Tensor clipNorm(double maxNorm, double normType) {
        return clipNorm(maxNorm, normType, false);
    }

    /**
     * Scales the gradients in place so that their total {@code normType}-norm is at most {@code maxNorm};
     * {@link ClipGrad#clipGradNorm(Iterable, double, double, boolean)} with one reduction and at most one
     * multiply per buffer.
     *
     * @param maxNorm the largest total norm allowed, {@code >= 0}
     * @param normType the order {@code p > 0} of the norm, {@code Double.POSITIVE_INFINITY} for the max norm
     * @param errorIfNonfinite when true, reads the norm back (a host sync) and throws if it is NaN or
     *     infinite, before changing anything
     * @return the total norm before clipping, a 0-dim tensor on the first parameter's device
     * @throws IllegalArgumentException if {@code maxNorm} is negative or NaN, or {@code normType} is not positive
     * @throws NonFiniteNormException if {@code errorIfNonfinite} and the total norm is NaN or infinite
     * @throws IllegalStateException in {@link Mode#STRICT}, if a gradient is no longer bound
     */
    public Tensor clipNorm(double maxNorm, double normType, boolean errorIfNonfinite) {
        ClipGrad.checkMaxNorm(maxNorm);
        ClipGrad.checkNormType(normType);
        Tensor result = new Tensor();
        ClipGrad.inNoGradScope(() -> {
            ensureBound();
            Tensor total = norm(normType, errorIfNonfinite);
            scale(maxNorm, total);
            result.put(total);
        });
        return result;
    }

    /** {@link #totalNorm(double, boolean)} with no finiteness check. */
    public Tensor totalNorm(double normType) {
        return totalNorm(normType, false);
    }

    /**
     * The total {@code normType}-norm of the gradients, without changing them; {@link ClipGrad#getTotalNorm}.
     *
     * @return a 0-dim tensor on the first parameter's device; {@code 0.} (float32, CPU) when nothing is bound
     * @throws IllegalArgumentException if {@code normType} is not positive
     * @throws NonFiniteNormException if {@code errorIfNonfinite} and the total norm is NaN or infinite
     * @throws IllegalStateException in {@link Mode#STRICT}, if a gradient is no longer bound
     */
    public Tensor totalNorm(double normType, boolean errorIfNonfinite) {
        ClipGrad.checkNormType(normType);
        Tensor result = new Tensor();
        ClipGrad.inNoGradScope(() -> {
            ensureBound();
            result.put(norm(normType, errorIfNonfinite));
        });
        return result;
    }

    /**
     * Scales the gradients in place by {@code min(1, maxNorm / (totalNorm + 1e-6))}, where {@code totalNorm}
     * was computed elsewhere (e.g. by {@link #totalNorm} and an all-reduce); {@link ClipGrad#clipGradsWithNorm}.
     *
     * @param totalNorm a one-element tensor on any device; the coefficient is computed in its dtype, and
     *     the multiply is skipped only when that coefficient is on the CPU and exactly 1
     * @throws IllegalArgumentException if {@code maxNorm} is negative or NaN, or {@code totalNorm} is
     *     undefined or does not hold exactly one element
     * @throws IllegalStateException in {@link Mode#STRICT}, if a gradient is no longer bound
     */
    public void clipGradsWithNorm(double maxNorm, Tensor totalNorm) {
        ClipGrad.checkMaxNorm(maxNorm);
        ClipGrad.checkTotalNorm(totalNorm);
        ClipGrad.inNoGradScope(() -> {
            ensureBound();
            scale(maxNorm, totalNorm.reshape(new long[0]));
        });
    }

    /**
     * Clamps every gradient element in place to {@code [-clipValue, clipValue]}; {@link ClipGrad#clipGradValue}.
     *
     * @throws IllegalArgumentException if {@code clipValue} is negative or NaN
     * @throws IllegalStateException in {@link Mode#STRICT}, if a gradient is no longer bound
     */
    public void clipValue(double clipValue) {
        ClipGrad.checkClipValue(clipValue);
        ClipGrad.inNoGradScope(() -> {
            ensureBound();
            for (Buffer b : buffers) {
                ClipGrad.clampAll(b.valueParts, clipValue);
            }
        });
    }

    /**
     * Zeroes every gradient with one {@code zero_} per buffer (per chunk of a small one); the views stay
     * bound. Use it instead of {@code Optimizer.zero_grad()}, which throws on gradient views.
     *
     * @throws IllegalStateException in {@link Mode#STRICT}, if a gradient is no longer bound
     */
    public void zero() {
        ClipGrad.inNoGradScope(() -> {
            ensureBound();
            for (Buffer b : buffers) {
                for (Tensor part : b.valueParts) {
                    part.zero_();
                }
            }
        });
    }

    /**
     * The buffers' real elements (padding excluded), one flat view per (device, dtype) in order of first
     * appearance. Writing to them writes the gradients.
     *
     * @throws IllegalStateException in {@link Mode#STRICT}, if a gradient is no longer bound
     */
    public List<Tensor> flatTensors() {
        ClipGrad.inNoGradScope(this::ensureBound);
        List<Tensor> views = new ArrayList<>(buffers.size());
        for (Buffer b : buffers) {
            views.add(b.padded.narrow(0, 0, b.numel));
        }
        return views;
    }

    /** The number of bound parameters. */
    public int parameterCount() {
        return slots.size();
    }

    /** The number of gradient elements bound, padding excluded. */
    public long numel() {
        long n = 0;
        for (Buffer b : buffers) {
            n += b.numel;
        }
        return n;
    }

    /**
     * Gives every parameter a gradient of its own again, a copy of its current values, so the buffer's memory is
     * no longer shared; the buffer is unusable afterwards. Closing a trainer does this.
     */
    public void unbind() {
        if (unbound) {
            return;
        }
        ClipGrad.inNoGradScope(() -> {
            for (Slot slot : slots) {
                if (slot.grad.defined()) {
                    slot.param.mutable_grad().put(slot.grad.clone());
                }
            }
        });
        unbound = true;
    }

    /** How many times a parameter found unbound was bound again (each parameter counts once per time). */
    public long rebinds() {
        return rebinds;
    }

    public Mode mode() {
        return mode;
    }

    /** Finds parameters whose gradient left the buffer, and binds them again or throws (see {@link Mode}). */
    private void ensureBound() {
        if (unbound) {
            throw new IllegalStateException("this gradient buffer was unbound (its trainer was closed); bind a new one");
        }
        for (Slot slot : slots) {
            if (slot.isBound()) {
                continue;
            }
            if (mode == Mode.STRICT) {
                throw new IllegalStateException("the gradient of " + slot.name + " is no longer a view into its "
                        + "GradBuffer (" + (slot.grad.defined() ? "a new gradient tensor was assigned" : "it was set "
                        + "to none, e.g. by Module.zero_grad(true)") + "); zero gradients with GradBuffer.zero() or "
                        + "Module.zero_grad(false), or bind with Mode.REBIND");
            }
            slot.rebind();
            rebinds++;
        }
    }

    private Tensor norm(double normType, boolean errorIfNonfinite) {
        if (buffers.isEmpty()) {
            return torch.zeros(new long[0]);
        }
        if (normType == Double.POSITIVE_INFINITY) {
            checkNoneEmpty();
        }
        Scalar order = order(normType);
        Tensor total;
        if (buffers.size() == 1) {
            total = buffers.get(0).norm(normType, order);
        } else {
            // as ClipGrad: the norm of the per-buffer norms, stacked (and dtype-promoted) on the first device
            TensorVector norms = new TensorVector();
            for (Buffer b : buffers) {
                Tensor n = b.norm(normType, order);
                norms.push_back(b.firstDevice == null ? n : n.to(b.firstDevice, n.scalar_type()));
            }
            total = torch.linalg_vector_norm(torch.stack(norms), order, new LongArrayRefOptional(), false,
                    new ScalarTypeOptional());
        }
        if (errorIfNonfinite) {
            ClipGrad.checkFinite(total, normType);
        }
        return total;
    }

    /** Throws for an empty gradient under the inf norm, as {@link ClipGrad} and PyTorch do. */
    private void checkNoneEmpty() {
        for (Slot slot : slots) {
            if (slot.numel == 0) {
                throw new IllegalArgumentException("normType inf needs every gradient to have elements, but "
                        + slot.name + " has shape " + Arrays.toString(slot.shape) + " (PyTorch raises too); use a "
                        + "finite normType or bind without that parameter");
            }
        }
    }

    private void scale(double maxNorm, Tensor totalNorm) {
        if (buffers.isEmpty()) {
            return;
        }
        Tensor coef = ClipGrad.clipCoefficient(maxNorm, totalNorm);
        if (ClipGrad.isOneOnCpu(coef)) {
            return;
        }
        List<Tensor> coefOnDevice = new ArrayList<>();
        for (Buffer b : buffers) {
            Tensor c = ClipGrad.onDeviceOf(b.values, coef, coefOnDevice);
            for (Tensor part : b.valueParts) {
                part.mul_(c);
            }
        }
    }

    /** The norm order as a Scalar, kept between calls with the same order. */
    private Scalar order(double normType) {
        if (cachedOrder == null || Double.compare(normType, cachedOrderValue) != 0) {
            cachedOrder = keep(new Scalar(normType));
            cachedOrderValue = normType;
        }
        return cachedOrder;
    }

    /** The data pointer's address; 0 for a tensor without elements (libtorch returns null for those). */
    private static long address(Tensor t) {
        Pointer data = t.data_ptr();
        return data == null ? 0 : data.address();
    }

    /** Keeps a native object alive past the PointerScope it was created in; the GC frees it with its owner. */
    private static <P extends Pointer> P keep(P pointer) {
        return pointer.retainReference();
    }

    /**
     * One (device, dtype) buffer of a whole number of rows ({@value #ROW_LENGTH} elements, or one row when
     * the gradients are fewer) and of short rows ({@value #SHORT_ROW} elements); its first {@code numel}
     * elements are the gradients, the rest zero padding.
     */
    private static final class Buffer {
        final Tensor padded;
        final Tensor values;
        final Tensor rows;
        final Tensor shortRows;
        /** The gradient elements: {@link #values} itself, or serial chunks of it for a small buffer. */
        final List<Tensor> valueParts = new ArrayList<>();
        /** The rows: {@link #rows} itself, or serial chunks of it for a small buffer. */
        final List<Tensor> rowParts = new ArrayList<>();
        /** The 2-norms of the rows, written part by part by {@link #norm}. */
        final Tensor rowNorms;
        final List<Tensor> rowNormParts = new ArrayList<>();
        final long numel;
        /** The first buffer's device when this buffer is elsewhere, else null. */
        final Device firstDevice;
        /** float32 for half and bfloat16 (as ClipGrad), else empty: the buffer's own dtype. */
        final ScalarTypeOptional normDtype;
        /** The dtype of the norm: float32 for half, bfloat16 and float32, else the buffer's. */
        final torch.ScalarType resultDtype;
        final long[] rowDim = {1};

        private Buffer(Tensor padded, long numel, long cols, Device firstDevice, ScalarTypeOptional normDtype) {
            this.padded = keep(padded);
            this.values = keep(padded.narrow(0, 0, numel));
            long rowCount = padded.numel() / cols;
            this.rows = keep(padded.view(rowCount, cols));
            this.shortRows = keep(padded.view(padded.numel() / SHORT_ROW, SHORT_ROW));
            this.numel = numel;
            this.firstDevice = firstDevice;
            this.normDtype = keep(normDtype);
            this.resultDtype = normDtype.has_value() ? normDtype.get() : padded.scalar_type().intern();
            this.rowNorms = keep(torch.zeros(new long[] {rowCount},
                    padded.options().dtype(new ScalarTypeOptional(resultDtype))));
            // On the CPU, chunks of fewer than SERIAL_GRAIN elements (whole rows) run on the calling thread;
            // a device runs each operation as one kernel, so chunks would only add launches.
            boolean serial = padded.is_cpu() && padded.numel() <= SERIAL_LIMIT;
            long chunkRows = serial ? serialChunkRows(cols) : rowCount;
            for (long row = 0; row < rowCount; row += chunkRows) {
                long n = Math.min(chunkRows, rowCount - row);
                rowParts.add(keep(rows.narrow(0, row, n)));
                rowNormParts.add(keep(rowNorms.narrow(0, row, n)));
                long first = row * cols;
                if (first < numel) {
                    valueParts.add(keep(values.narrow(0, first, Math.min(n * cols, numel - first))));
                }
            }
        }

        static Buffer allocate(List<Slot> group, Device first) {
            long numel = 0;
            for (Slot s : group) {
                numel += s.numel;
            }
            // at least one short row, so that no reduction is over zero elements (the inf norm refuses those)
            long cols = numel >= ROW_LENGTH ? ROW_LENGTH : roundUp(Math.max(1, numel), SHORT_ROW);
            Tensor like = group.get(0).param;
            Tensor padded = like.new_zeros(roundUp(Math.max(1, numel), cols));
            Device elsewhere = first == null || padded.device().equals(first) ? null : first;
            return new Buffer(padded, numel, cols, elsewhere, ClipGrad.accumulationType(like));
        }

        /**
         * The buffer's p-norm; the zero padding changes no order's norm, and NaN propagates through each.
         * <ul>
         *   <li>2: per-row norms (libtorch's vectorized kernel, which keeps several partial sums per row),
         *       written part by part into {@link #rowNorms}, then the norm of those.</li>
         *   <li>inf: {@code max(|min|, |max|)} from one {@code aminmax} pass, exact and several times faster
         *       than libtorch's inf-norm kernel.</li>
         *   <li>other orders: libtorch keeps one serial float32 sum per row for them, in which a large
         *       gradient absorbs the small ones after it; short rows bound that loss, and the row norms are
         *       combined in float64. A float32 sum of {@code |g|^p} past float32's range is infinite in
         *       ClipGrad, so it is made infinite here too.</li>
         * </ul>
         */
        Tensor norm(double normType, Scalar order) {
            if (normType == Double.POSITIVE_INFINITY) {
                T_TensorTensor_T minMax = torch.aminmax(padded);
                Tensor absMax = torch.maximum(minMax.get0().abs(), minMax.get1().abs());
                return absMax.to(resultDtype);
            }
            if (normType == 2) {
                for (int i = 0; i < rowParts.size(); i++) {
                    torch.linalg_vector_norm_out(rowNormParts.get(i), rowParts.get(i), order, rowDim, false, normDtype);
                }
                return torch.linalg_vector_norm(rowNorms, order, new LongArrayRefOptional(), false,
                        new ScalarTypeOptional());
            }
            Tensor rowNorms = torch.linalg_vector_norm(shortRows, order, rowDim, false, normDtype);
            Tensor total = torch.linalg_vector_norm(rowNorms, order, new LongArrayRefOptional(), false,
                    new ScalarTypeOptional(torch.ScalarType.Double));
            if (resultDtype == torch.ScalarType.Float) {
                double overflow = Math.pow(Float.MAX_VALUE, 1 / normType);
                total.masked_fill_(total.gt(new Scalar(overflow)), new Scalar(Double.POSITIVE_INFINITY));
            }
            return total.to(resultDtype);
        }
    }

    private static long roundUp(long n, long multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    /** A bound parameter: where its gradient lives in its buffer. */
    private static final class Slot {
        final Tensor param;
        /**
         * The parameter's gradient field: {@code grad()} returns a reference into the parameter's autograd
         * metadata, which lives as long as the parameter, so reading through it sees every later assignment
         * or reset of the gradient, one native call cheaper than calling {@code grad()} each time.
         */
        final Tensor grad;
        final String name;
        final long[] shape;
        final long numel;
        Buffer buffer;
        long offset;
        /** What {@code param.grad().data_ptr()} is while the gradient is bound. */
        long address;
        /**
         * The gradient tensor last found bound, held so that no other tensor can take its address while
         * {@link #boundImpl} is compared with it.
         */
        Tensor bound;
        long boundImpl;

        Slot(Tensor param, String name, long[] shape, long numel) {
            this.param = param;
            this.grad = param.grad();
            this.name = name;
            this.shape = shape;
            this.numel = numel;
        }

        /** Makes the gradient a view of {@code numel} elements of {@code b} from {@code offset}, keeping its values. */
        void attach(Buffer b, long offset) {
            this.buffer = b;
            this.offset = offset;
            rebind();
        }

        /**
         * Whether the gradient's data still starts at this slot. The data pointer sits two native objects
         * behind the gradient field (tensor, storage), which a forward and backward pass evict from the
         * caches (1,000 parameters: about 400 us cold); so the gradient tensor itself is compared with the
         * one last found bound first (about 150 us cold), and only a different one, such as the detached
         * tensor {@code Module.zero_grad(false)} leaves, has its data pointer read.
         */
        boolean isBound() {
            if (grad.unsafeGetTensorImpl().address() == boundImpl) {
                return true;
            }
            if (grad.defined() && address(grad) == address) {
                remember();
                return true;
            }
            return false;
        }

        /** Holds the current gradient tensor as the one known to be bound. */
        private void remember() {
            if (bound != null) {
                bound.releaseReference();
            }
            bound = keep(new Tensor(grad));
            boundImpl = bound.unsafeGetTensorImpl().address();
        }

        /** Makes the gradient a view of this slot again, holding the current gradient's values (zeros if none). */
        void rebind() {
            Tensor view = buffer.padded.narrow(0, offset, numel).view(shape);
            if (grad.defined()) {
                view.copy_(grad);
            } else {
                view.zero_();
            }
            param.mutable_grad().put(view);
            address = address(view);
            remember();
        }
    }
}
