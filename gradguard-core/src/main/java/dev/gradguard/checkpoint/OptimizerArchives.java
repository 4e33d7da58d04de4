package dev.gradguard.checkpoint;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Reads libtorch's optimizer archive layout: {@code state/<key>/<name>} holds each parameter's state tensors
 * ({@code momentum_buffer}, {@code exp_avg}, ...) under a key that {@code param_groups/param_groups/<g>/params/<j>}
 * lists in parameter order.
 */
final class OptimizerArchives {
    private OptimizerArchives() {
    }

    /**
     * The first floating-point state tensor holding NaN or an infinity, as {@code exp_avg of fc1.weight}.
     *
     * @param fingerprint names the parameters, in the optimizer's order
     */
    static Optional<String> firstNonFinite(InputArchive archive, ModelFingerprint fingerprint) {
        InputArchive state = new InputArchive();
        if (!archive.try_read("state", state)) {
            return Optional.empty();
        }
        List<String> order = parameterKeys(archive);
        StringVector keys = state.keys();
        for (long i = 0; i < keys.size(); i++) {
            String key = keys.get(i).getString();
            InputArchive entry = new InputArchive();
            if (!state.try_read(key, entry)) {
                continue;
            }
            StringVector names = entry.keys();
            for (long n = 0; n < names.size(); n++) {
                String name = names.get(n).getString();
                IValue value = new IValue();
                entry.read(name, value);
                if (value.isTensor()) {
                    Tensor t = value.toTensor();
                    if (t.is_floating_point() && !torch.isfinite(t).all().item_bool()) {
                        return Optional.of(name + " of " + parameterName(order.indexOf(key), fingerprint));
                    }
                }
            }
        }
        return Optional.empty();
    }

    private static String parameterName(int index, ModelFingerprint fingerprint) {
        List<ModelFingerprint.Entry> parameters = fingerprint.parameters();
        return index >= 0 && index < parameters.size() ? parameters.get(index).name() : "an unlisted parameter";
    }

    /** The state keys of the parameters, in parameter order over all groups. */
    private static List<String> parameterKeys(InputArchive archive) {
        List<String> keys = new ArrayList<>();
        InputArchive groups = new InputArchive();
        if (!archive.try_read("param_groups", groups)) {
            return keys;
        }
        long groupCount = sizeOf(groups, "param_groups/size");
        for (long g = 0; g < groupCount; g++) {
            InputArchive group = new InputArchive();
            groups.read("param_groups/" + g, group);
            long params = sizeOf(group, "params/size");
            for (long j = 0; j < params; j++) {
                IValue key = new IValue();
                group.read("params/" + j, key);
                keys.add(key.toStringRef().getString());
            }
        }
        return keys;
    }

    private static long sizeOf(InputArchive archive, String key) {
        Tensor size = new Tensor();
        archive.read(key, size);
        return size.item().toLong();
    }
}
