package dev.gradguard.checkpoint;

import dev.gradguard.libtorch.OptimizerArchiveKeys;
import java.util.List;
import java.util.Optional;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Checks the state tensors of an optimizer archive in libtorch's layout ({@link OptimizerArchiveKeys}). */
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
        List<String> order = OptimizerArchiveKeys.parameterKeys(archive);
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
}
