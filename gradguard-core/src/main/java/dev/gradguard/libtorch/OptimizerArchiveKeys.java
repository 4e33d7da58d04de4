package dev.gradguard.libtorch;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Tensor;

/**
 * libtorch's optimizer archive layout: {@code state/<key>/<name>} holds each parameter's state tensors
 * ({@code momentum_buffer}, {@code exp_avg}, ...) under a key that
 * {@code param_groups/param_groups/<g>/params/<j>} lists in parameter order, after
 * {@code param_groups/param_groups/size} and each group's {@code params/size}.
 */
public final class OptimizerArchiveKeys {
    private OptimizerArchiveKeys() {
    }

    /**
     * The state keys of the parameters, in parameter order over all groups; empty when the archive has no
     * {@code param_groups}.
     */
    public static List<String> parameterKeys(InputArchive archive) {
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
