package dev.gradguard.optim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Test helpers that read an optimizer's state back through its archive, as a checkpoint holds it. */
final class OptimizerStates {
    private OptimizerStates() {
    }

    /** The optimizer saved to a file and read back. */
    static InputArchive roundTrip(TrainingOptimizer optimizer, Path dir) throws IOException {
        OutputArchive out = new OutputArchive();
        optimizer.save(out);
        Path file = Files.createTempFile(dir, "optimizer", ".pt");
        out.save_to(file.toString());
        InputArchive in = new InputArchive();
        in.load_from(file.toString());
        return in;
    }

    /**
     * Every state value, as {@code "<key>/<slot>" -> float values} (the step count as one value), in archive
     * order.
     */
    static Map<String, float[]> values(InputArchive archive) {
        Map<String, float[]> values = new LinkedHashMap<>();
        InputArchive state = new InputArchive();
        if (!archive.try_read("state", state)) {
            return values;
        }
        StringVector keys = state.keys();
        for (long k = 0; k < keys.size(); k++) {
            String key = keys.get(k).getString();
            InputArchive entry = new InputArchive();
            state.read(key, entry);
            StringVector slots = entry.keys();
            for (long s = 0; s < slots.size(); s++) {
                String slot = slots.get(s).getString();
                IValue v = new IValue();
                entry.read(slot, v);
                Tensor t = v.isTensor() ? v.toTensor() : torch.scalar_tensor(new org.bytedeco.pytorch.Scalar(v.toInt()));
                values.put(key + "/" + slot, dev.gradguard.engine.Tensors.toFloats(t.to(torch.ScalarType.Float)));
            }
        }
        return values;
    }
}
