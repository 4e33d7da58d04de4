package dev.gradguard.clip;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.Tensor;

/**
 * Gradients as {@link ClipGrad} hands them to libtorch's foreach operators: the defined ones, each memory region
 * once, grouped by (device, dtype) as PyTorch's {@code _group_tensors_by_device_and_dtype} does.
 *
 * <p>This runs on every clipping call, and over a thousand small gradients its Java work is of the order of the
 * native work itself, so it reads each tensor's data address, device and dtype once through the binding, keeps
 * them as primitives, and builds no collection per tensor: aliases are looked for among the sorted addresses,
 * regions are compared only where two addresses coincide, and gradients that share one (device, dtype), the
 * common case, become their group without a map.
 */
final class GradientGroups {
    private GradientGroups() {
    }

    /** The defined gradients of {@code params}, each memory region once, in order. */
    static List<Tensor> distinctGradients(List<Tensor> params) {
        return Tensors.ofGradients(params).distinct().list();
    }

    /**
     * The defined gradients of {@code params}, each memory region once, grouped by (device, dtype): groups in order
     * of first appearance, each in the parameters' order.
     */
    static List<Foreach.Group> ofParameters(List<Tensor> params) {
        return Tensors.ofGradients(params).distinct().byDeviceAndDtype();
    }

    /** {@link #ofParameters} for gradient tensors themselves; undefined ones are skipped. */
    static List<Foreach.Group> ofGradients(List<Tensor> gradients) {
        return Tensors.ofDefined(gradients).distinct().byDeviceAndDtype();
    }

    /**
     * The first {@code count} of {@code tensors}, each with its data address (0 for a tensor without elements).
     */
    private record Tensors(Tensor[] tensors, long[] addresses, int count) {
        static Tensors ofGradients(List<Tensor> params) {
            Tensor[] grads = new Tensor[params.size()];
            int count = 0;
            for (Tensor p : params) {
                Tensor g = p.grad();
                if (g.defined()) {
                    grads[count++] = g;
                }
            }
            return withAddresses(grads, count);
        }

        static Tensors ofDefined(List<Tensor> tensors) {
            Tensor[] defined = new Tensor[tensors.size()];
            int count = 0;
            for (Tensor t : tensors) {
                if (t.defined()) {
                    defined[count++] = t;
                }
            }
            return withAddresses(defined, count);
        }

        private static Tensors withAddresses(Tensor[] tensors, int count) {
            long[] addresses = new long[count];
            for (int i = 0; i < count; i++) {
                Pointer data = tensors[i].data_ptr(); // null for a tensor without elements
                addresses[i] = data == null ? 0 : data.address();
            }
            return new Tensors(tensors, addresses, count);
        }

        List<Tensor> list() {
            return Arrays.asList(tensors).subList(0, count);
        }

        /**
         * Without the tensors that are the same memory as an earlier one. Two Java {@code Tensor} objects can wrap
         * one C++ tensor, and two tensors can view one region, so identity is the region: device, dtype, data
         * pointer, sizes and strides. Tensors without elements have no data pointer and are kept (they contribute
         * nothing).
         */
        Tensors distinct() {
            if (!anyAddressRepeats()) {
                return this;
            }
            Map<Long, List<Tensor>> byAddress = new HashMap<>();
            Tensor[] kept = new Tensor[count];
            long[] keptAddresses = new long[count];
            int n = 0;
            for (int i = 0; i < count; i++) {
                Tensor t = tensors[i];
                if (addresses[i] != 0) {
                    List<Tensor> sameAddress = byAddress.computeIfAbsent(addresses[i], address -> new ArrayList<>(1));
                    if (sameAddress.stream().anyMatch(seen -> sameRegion(seen, t))) {
                        continue;
                    }
                    sameAddress.add(t);
                }
                kept[n] = t;
                keptAddresses[n++] = addresses[i];
            }
            return new Tensors(kept, keptAddresses, n);
        }

        private boolean anyAddressRepeats() {
            long[] sorted = Arrays.copyOf(addresses, count);
            Arrays.sort(sorted);
            for (int i = 1; i < count; i++) {
                if (sorted[i] != 0 && sorted[i] == sorted[i - 1]) {
                    return true;
                }
            }
            return false;
        }

        /**
         * Grouped by (device, dtype). CPU tensors are told apart without a {@code Device} object, and dtypes by
         * their numeric value.
         */
        List<Foreach.Group> byDeviceAndDtype() {
            if (count == 0) {
                return List.of();
            }
            GroupKey[] keys = new GroupKey[count];
            keys[0] = GroupKey.of(tensors[0]);
            boolean oneGroup = true;
            for (int i = 1; i < count; i++) {
                Tensor t = tensors[i];
                keys[i] = t.is_cpu() && keys[0].isCpu() && t.scalar_type().value == keys[0].dtype()
                        ? keys[0] : GroupKey.of(t);
                oneGroup &= keys[i] == keys[0];
            }
            if (oneGroup) {
                return List.of(new Foreach.Group(Arrays.copyOf(tensors, count), Arrays.copyOf(addresses, count)));
            }
            Map<GroupKey, List<Integer>> groups = new LinkedHashMap<>();
            for (int i = 0; i < count; i++) {
                groups.computeIfAbsent(keys[i], key -> new ArrayList<>()).add(i);
            }
            List<Foreach.Group> result = new ArrayList<>(groups.size());
            for (List<Integer> members : groups.values()) {
                Tensor[] groupTensors = new Tensor[members.size()];
                long[] groupAddresses = new long[members.size()];
                for (int j = 0; j < groupTensors.length; j++) {
                    groupTensors[j] = tensors[members.get(j)];
                    groupAddresses[j] = addresses[members.get(j)];
                }
                result.add(new Foreach.Group(groupTensors, groupAddresses));
            }
            return result;
        }
    }

    /** A (device, dtype) group's identity; {@code dtype} is the {@code ScalarType}'s value. */
    private record GroupKey(String device, byte dtype) {
        static final String CPU = "cpu";

        static GroupKey of(Tensor t) {
            return new GroupKey(t.is_cpu() ? CPU : t.device().str().getString(), t.scalar_type().value);
        }

        boolean isCpu() {
            return CPU.equals(device);
        }
    }

    /** Same device, dtype, sizes and strides; the data pointers are known to be equal. */
    private static boolean sameRegion(Tensor a, Tensor b) {
        return ClipGrad.sameDevice(a, b) && a.scalar_type().value == b.scalar_type().value
                && Arrays.equals(a.sizes().vec().get(), b.sizes().vec().get())
                && Arrays.equals(a.strides().vec().get(), b.strides().vec().get());
    }
}
