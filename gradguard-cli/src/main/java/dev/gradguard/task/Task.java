package dev.gradguard.task;

import dev.gradguard.session.Evaluation;
import dev.gradguard.data.BatchSource;
import dev.gradguard.model.Model;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * A built-in training problem: it makes models, training data, the loss, and judges a trained model on
 * freshly generated held-out data. Built-in tasks feed the same trainer API a Java user calls with their
 * own model, data and loss.
 */
public interface Task {

    /** The task's name as {@code --task} takes it. */
    String name();

    /** The model names this task can build, the first being the default. */
    List<String> models();

    /**
     * A new model, initialised as its class documents (libtorch's defaults for the recurrent models, GPT-2's
     * for the Transformers); call {@code torch.manual_seed} first for reproducible weights.
     *
     * @throws IllegalArgumentException if {@code modelName} is not one of {@link #models()}
     */
    Model createModel(String modelName);

    /**
     * About how much memory training {@code modelName} takes; computed from sizes alone, nothing allocated.
     *
     * @throws IllegalArgumentException if {@code modelName} is not one of {@link #models()}
     */
    Footprint footprint(String modelName);

    /**
     * The sizes a run of {@code modelName} really uses, the task's defaults filled in, under the settings' names
     * ({@code hidden}, {@code length}, and {@code layers}, {@code heads} for a transformer; only {@code length} for
     * {@link ModelFile#MODEL}, whose sizes are its own): what a run records in its configuration instead of "the
     * task's default".
     *
     * @throws IllegalArgumentException when the task has no such model, or its options size it in a way it does not
     *     take (a transformer's {@code layers} for another model, a width that its heads do not divide)
     */
    java.util.Map<String, Object> resolvedSizes(String modelName);

    /**
     * The output shape a model from a TorchScript file ({@link ModelFile}) must return for a batch-first input of
     * {@code batchSize} sequences.
     */
    long[] modelFileOutputShape(int batchSize);

    /** Training batches of the given size, generated from {@code seed}. */
    BatchSource trainingData(long seed, int batchSize);

    /** The training loss of a model output against its target (a 0-dim tensor). */
    Tensor loss(Tensor output, Tensor target);

    /** Judges the model on held-out data that training never saw; runs without gradients. */
    Evaluation evaluate(Model model);
}
