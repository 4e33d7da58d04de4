package dev.gradguard.clip;

import dev.gradguard.libtorch.Operators;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Storage;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * libtorch's multi-tensor operators {@code _foreach_norm} and {@code _foreach_mul_}, which PyTorch's
 * {@code clip_grad_norm_} calls once per (device, dtype) group. The Java binding has no functions for them,
 * so they are called through libtorch's dispatcher ({@link Operators}): one native call for a whole list,
 * where a loop in Java pays a JNI transition and a Java wrapper per tensor. On the CPU libtorch runs them tensor by
 * tensor in C++ ({@code linalg_vector_norm} and {@code mul_} on each), so the values are those of the per-tensor
 * calls; on CUDA they are PyTorch's own fused kernels.
 *
 * <p>On the CPU, gradients that lie one after another in memory, as a {@link GradBuffer}'s views do, get the same
 * values from fewer native calls (see {@link Group#norms} and {@link Group#mul_}).
 */
final class Foreach {
    private static final OperatorHandle NORM = Operators.find("aten::_foreach_norm", "Scalar");
    private static final OperatorHandle MUL = Operators.find("aten::_foreach_mul_", "Tensor");
    /**
     * The fewest equal-size adjacent tensors whose 2-norms are taken as the rows of one matrix: below it, the few
     * native calls that the matrix costs save less than they cost.
     */
    static final int MIN_ROWS = 8;
    /**
     * The largest gradients whose norms are taken as rows of a copy when they do not lie one after another (16 KiB:
     * copying one costs less than the native call of its own norm that the copy saves).
     */
    static final long COPIED_ROW_BYTES = 16L << 10;
    /**
     * How many bytes at the end of a group {@link Group#mul_} scales first: about what the CPU caches keep of a
     * long read (measured: a re-read of the last 4 to 8 MiB of a 100 MB read takes half the time of a cold one).
     */
    static final long CACHED_TAIL_BYTES = 8L << 20;

    private Foreach() {
    }

    /**
     * Tensors of one device and dtype, in order, with what the operators need to know about them, read from
     * libtorch once for every operator applied to them.
     */
    static final class Group {
        private final Tensor[] tensors;
        private final long[] addresses;
        /** The list argument of the foreach operators, built when first needed. */
        private IValue list;
        /** Each tensor's size in bytes when it is contiguous with elements, else -1; read when first needed. */
        private long[] contiguousBytes;

        /**
         * @param tensors at least one tensor, not copied
         * @param addresses each tensor's data address, 0 for a tensor without elements, not copied
         */
        Group(Tensor[] tensors, long[] addresses) {
            this.tensors = tensors;
            this.addresses = addresses;
        }

        Tensor first() {
            return tensors[0];
        }

        List<Tensor> tensors() {
            return Collections.unmodifiableList(Arrays.asList(tensors));
        }

        /**
         * The {@code order}-norm of each tensor as one 1-D tensor, in order: PyTorch's
         * {@code torch.stack(torch._foreach_norm(tensors, order, dtype))}.
         *
         * <p>For the 2-norm of float32 or float64 CPU tensors in their own dtype, a run of at least
         * {@value #MIN_ROWS} contiguous tensors of one size, each starting where the one before it ends (or each at
         * most {@value #COPIED_ROW_BYTES} bytes, copied one per row), is reduced as the rows of one matrix
         * ({@code linalg_vector_norm(rows, 2, dim 1)}): a few native calls instead of one per tensor. The values are
         * those of the per-tensor calls, bit for bit, at any thread count: libtorch reduces a contiguous tensor's last
         * dimension with one function of (start, length) for every row, the same function that reduces a whole
         * contiguous tensor as its single row; threads split the rows, never a row. Other orders and dtypes take
         * another kernel, which can split one tensor's reduction across threads, so they are reduced tensor by
         * tensor.
         *
         * @param dtype the dtype to accumulate and return the norms in, or null for each tensor's own
         */
        Tensor norms(double order, Scalar orderScalar, torch.ScalarType dtype) {
            if (order != 2 || dtype != null || !first().is_cpu() || !isFloatOrDouble(first())) {
                return torch.stack(foreachNorms(list(), orderScalar, dtype));
            }
            int[] runEnds = runEnds();
            List<Tensor> pieces = new ArrayList<>();
            int start = 0;
            while (start < tensors.length) {
                int end = runEnds[start];
                if (end - start >= MIN_ROWS) {
                    pieces.add(rowNorms(start, end, orderScalar));
                } else {
                    while (end < tensors.length && runEnds[end] - end < MIN_ROWS) {
                        end = runEnds[end];
                    }
                    IValue stretch = start == 0 && end == tensors.length ? list()
                            : Operators.tensorList(Arrays.asList(tensors).subList(start, end));
                    pieces.add(torch.stack(foreachNorms(stretch, orderScalar, null)));
                }
                start = end;
            }
            return pieces.size() == 1 ? pieces.get(0) : torch.cat(new TensorVector(pieces.toArray(Tensor[]::new)));
        }

        private static boolean isFloatOrDouble(Tensor t) {
            torch.ScalarType type = t.scalar_type().intern();
            return type == torch.ScalarType.Float || type == torch.ScalarType.Double;
        }

        private static TensorVector foreachNorms(IValue list, Scalar order, torch.ScalarType dtype) {
            IValue dtypeArgument = dtype == null ? new IValue() : new IValue(dtype);
            IValueVector stack = new IValueVector(list, new IValue(order), dtypeArgument);
            NORM.callBoxed(stack);
            return stack.get(0).toTensorVector();
        }

        /**
         * The norms of tensors {@code [start, end)}, one run (see {@link #runEnds}), as the rows of one matrix: a view
         * when they tile one range of the first one's storage, else a copy of them, one per row (runs of small
         * tensors, where the copy costs less than the calls it saves). Small work goes in chunks that libtorch runs on
         * the calling thread ({@link #runsOnCallingThread}); so does a copy, whose concatenation libtorch otherwise
         * does tensor by tensor when it may use several threads.
         */
        private Tensor rowNorms(int start, int end, Scalar order) {
            long cols = tensors[start].numel();
            boolean tiled = tiles(start, end);
            int count = end - start;
            Tensor view = tiled ? tensors[start].as_strided(new long[] {count, cols}, cols, 1) : null;
            boolean chunked = tiled ? runsOnCallingThread(count * cols) : torch.get_num_threads() > 1;
            int chunk = chunked ? (int) GradBuffer.serialChunkRows(cols) : count;
            TensorVector parts = new TensorVector();
            for (int row = 0; row < count; row += chunk) {
                int n = Math.min(chunk, count - row);
                Tensor rows = tiled ? view.narrow(0, row, n)
                        : torch.flatten_dense_tensors(new TensorVector(
                                Arrays.copyOfRange(tensors, start + row, start + row + n))).view(n, cols);
                parts.push_back(torch.linalg_vector_norm(rows, order, new long[] {1}, false, new ScalarTypeOptional()));
            }
            return parts.size() == 1 ? parts.get(0) : torch.cat(parts);
        }

        /**
         * Whether an operation over {@code elements} CPU elements is split into chunks that libtorch runs on the
         * calling thread (see {@link GradBuffer#SERIAL_LIMIT}: a parallel region over so little work saves
         * microseconds on idle cores and costs milliseconds on busy ones). Each row and each element is still
         * computed by the same function, so the values do not change.
         */
        private static boolean runsOnCallingThread(long elements) {
            return elements <= GradBuffer.SERIAL_LIMIT && torch.get_num_threads() > 1;
        }

        /**
         * For each tensor {@code i}, the end (exclusive) of the run that starts at it: the tensors from {@code i} on
         * that are contiguous and of one size in bytes, and either each start where the one before it ends or are
         * at most {@value #COPIED_ROW_BYTES} bytes each. A tensor that starts no such run of two ends its own at
         * {@code i + 1}.
         */
        int[] runEnds() {
            long[] bytes = contiguousBytes();
            int n = tensors.length;
            int[] ends = new int[n];
            for (int i = n - 1; i >= 0; i--) {
                boolean continues = i + 1 < n && bytes[i] > 0 && bytes[i + 1] == bytes[i]
                        && (bytes[i] <= COPIED_ROW_BYTES || addresses[i] + bytes[i] == addresses[i + 1]);
                ends[i] = continues ? ends[i + 1] : i + 1;
            }
            return ends;
        }

        /**
         * Multiplies every tensor in place by the one-element {@code factor}, PyTorch's {@code torch._foreach_mul_}.
         *
         * <p>On the CPU the last {@value #CACHED_TAIL_BYTES} bytes are scaled first, then the rest: the norms were
         * read front to back, so the end is what the CPU caches still hold, and it is scaled before the rest pushes
         * it out. Each element is multiplied on its own, so neither the order nor the split changes a value. When
         * the tensors tile one contiguous range ({@link #span}), as the views of a {@link GradBuffer} do, the range is
         * scaled as those two pieces instead of tensor by tensor (or, when it is small, as pieces that libtorch
         * runs on the calling thread, see {@link #runsOnCallingThread}); otherwise the tensors that end the list and
         * hold those bytes are one call, the others another.
         */
        void mul_(Tensor factor) {
            if (!first().is_cpu()) {
                MUL.callBoxed(new IValueVector(list(), new IValue(factor)));
                return;
            }
            Tensor span = span();
            if (span != null) {
                long total = span.numel();
                if (runsOnCallingThread(total)) {
                    long chunk = GradBuffer.serialChunkRows(1);
                    for (long start = 0; start < total; start += chunk) {
                        span.narrow(0, start, Math.min(chunk, total - start)).mul_(factor);
                    }
                    return;
                }
                long tail = Math.min(total, CACHED_TAIL_BYTES / first().element_size());
                span.narrow(0, total - tail, tail).mul_(factor);
                if (tail < total) {
                    span.narrow(0, 0, total - tail).mul_(factor);
                }
                return;
            }
            int tailStart = tensors.length;
            long tailBytes = 0;
            while (tailStart > 0 && tailBytes < CACHED_TAIL_BYTES) {
                tailBytes += tensors[--tailStart].nbytes();
            }
            if (tailStart == 0) {
                MUL.callBoxed(new IValueVector(list(), new IValue(factor)));
                return;
            }
            List<Tensor> all = Arrays.asList(tensors);
            IValue scale = new IValue(factor);
            MUL.callBoxed(new IValueVector(Operators.tensorList(all.subList(tailStart, tensors.length)), scale));
            MUL.callBoxed(new IValueVector(Operators.tensorList(all.subList(0, tailStart)), scale));
        }

        /**
         * The range of memory the tensors tile, as a 1-D view of the first tensor's storage, or null. They tile it
         * when they are contiguous CPU tensors with elements, each starting where the one before it ends, and the
         * range lies inside the first tensor's storage (so the view is valid whatever storages the others belong
         * to: they are that memory).
         */
        private Tensor span() {
            Tensor first = tensors[0];
            if (tensors.length < 2 || !first.is_cpu() || !tiles(0, tensors.length)) {
                return null;
            }
            long[] bytes = contiguousBytes();
            long end = addresses[tensors.length - 1] + bytes[tensors.length - 1];
            return first.as_strided(new long[] {(end - addresses[0]) / first.element_size()}, 1);
        }

        /**
         * Whether tensors {@code [start, end)} tile one range of memory inside the storage of tensor {@code start}:
         * each is contiguous with elements and starts where the one before it ends.
         */
        private boolean tiles(int start, int end) {
            long[] bytes = contiguousBytes();
            for (int i = start; i < end; i++) {
                if (bytes[i] <= 0 || i + 1 < end && addresses[i] + bytes[i] != addresses[i + 1]) {
                    return false;
                }
            }
            return addresses[end - 1] + bytes[end - 1] <= storageEnd(tensors[start]);
        }

        private IValue list() {
            if (list == null) {
                list = Operators.tensorList(Arrays.asList(tensors));
            }
            return list;
        }

        private long[] contiguousBytes() {
            if (contiguousBytes == null) {
                contiguousBytes = new long[tensors.length];
                for (int i = 0; i < tensors.length; i++) {
                    Tensor t = tensors[i];
                    contiguousBytes[i] = addresses[i] != 0 && t.is_contiguous() ? t.nbytes() : -1;
                }
            }
            return contiguousBytes;
        }

        /** The address just past the storage of {@code t}. */
        private static long storageEnd(Tensor t) {
            Storage storage = t.storage();
            return storage.data().address() + storage.nbytes();
        }
    }
}
