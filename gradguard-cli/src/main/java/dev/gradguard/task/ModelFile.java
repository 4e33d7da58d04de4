package dev.gradguard.task;

import dev.gradguard.model.Model;
import dev.gradguard.model.TorchScriptModel;
import java.nio.file.Path;
import java.util.Arrays;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * A TorchScript model from Python trained on a built-in task ({@code train --model-file}). The task sets the
 * contract, batch first as PyTorch users write models: the model gets the task's input with the batch
 * dimension first ({@code [B, T, 6]} float32 for temporal-order, {@code [B, T, 2]} for adding, {@code [B, T]}
 * int64 token ids for charlm) and must return {@link Task#modelFileOutputShape}: {@code [B, 4]} logits,
 * {@code [B, 1]}, {@code [B, T, vocabulary]} logits. The tasks themselves work time-major, so the input is
 * transposed on the way in, and an output with a time dimension on the way out.
 */
public final class ModelFile implements Model {
    /** The model name a run with a model file records. */
    public static final String MODEL = "torchscript";
    private static final int PROBE_BATCH = 2;

    private final TorchScriptModel script;

    private ModelFile(TorchScriptModel script) {
        this.script = script;
    }

    /**
     * Loads {@code file} and checks it against {@code task}'s contract with one forward pass, in eval mode and
     * without gradients, on a batch of {@value #PROBE_BATCH} training sequences drawn from {@code seed}.
     *
     * @throws IllegalArgumentException in one line when the file cannot be loaded, the forward pass fails on the
     *     task's input, or its output does not have the shape the task expects (naming both shapes)
     */
    public static ModelFile load(Path file, Task task, long seed) {
        ModelFile model = new ModelFile(TorchScriptModel.load(file));
        Module module = model.module();
        module.eval();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Tensor input = batchFirst(task.trainingData(seed, PROBE_BATCH).next().input());
            String given = "input " + describe(input);
            Tensor output;
            try {
                output = model.script.forward(input);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage() + " (task " + task.name() + "'s " + given + ")", e);
            }
            long[] expected = task.modelFileOutputShape(PROBE_BATCH);
            if (!Arrays.equals(expected, output.sizes().vec().get())) {
                throw new IllegalArgumentException("model file " + file + ": output " + describe(output) + " for "
                        + given + ", but task " + task.name() + " expects " + Arrays.toString(expected));
            }
        } finally {
            module.train(true);
        }
        return model;
    }

    /** The TorchScript model's module tree: its parameters under PyTorch's names. */
    @Override
    public Module module() {
        return script.module();
    }

    /**
     * @param input the task's time-major input
     * @return the model's output, time-major again when it has a time dimension
     */
    @Override
    public Tensor forward(Tensor input) {
        Tensor out = script.forward(batchFirst(input));
        return out.dim() >= 3 ? out.transpose(0, 1) : out;
    }

    private static Tensor batchFirst(Tensor timeMajor) {
        return timeMajor.transpose(0, 1).contiguous();
    }

    private static String describe(Tensor t) {
        ScalarType type = t.scalar_type().intern();
        String dtype = switch (type) {
            case Float -> "float32";
            case Long -> "int64";
            default -> type.toString();
        };
        return Arrays.toString(t.sizes().vec().get()) + " " + dtype;
    }
}
