package dev.gradguard.checkpoint;

import dev.gradguard.optim.TrainingOptimizer;
import dev.gradguard.train.Trainer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.pytorch.Module;

/**
 * Everything a run's future depends on, ready for {@link CheckpointStore#save}. The model and optimizer
 * are the live objects: their archives are written during {@code save}, so save before the next step.
 *
 * @param step the number of steps run so far (the next step's index)
 * @param model the module whose parameters and buffers are saved
 * @param optimizer the optimizer over the model's parameters; its state (e.g. Adam's moments) is saved
 * @param trainerState the trainer's {@code stateDict()}: a JSON-compatible map
 * @param generatorState libtorch's default CPU generator state, from {@link CpuGeneratorState#capture()}
 * @param metricsOffsets the byte length of each metrics file at this step (e.g. {@code metrics.jsonl} and
 *     the TensorBoard event file), so a resumed run can cut off what was logged after it
 * @param metadata free-form, JSON-compatible facts about the run (task, model name, config)
 */
public record Checkpoint(long step, Module model, TrainingOptimizer optimizer, Map<String, Object> trainerState,
        byte[] generatorState, Map<String, Long> metricsOffsets, Map<String, Object> metadata) {

    /** Validates and copies the maps and the generator state. */
    public Checkpoint {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(optimizer, "optimizer");
        trainerState = copy(trainerState, "trainerState");
        generatorState = Objects.requireNonNull(generatorState, "generatorState").clone();
        metricsOffsets = copy(metricsOffsets, "metricsOffsets");
        metadata = copy(metadata, "metadata");
    }

    /** A checkpoint of a model and optimizer with the default CPU generator's current state. */
    public static Checkpoint capture(long step, Module model, TrainingOptimizer optimizer, Map<String, Object> trainerState,
            Map<String, Long> metricsOffsets, Map<String, Object> metadata) {
        return new Checkpoint(step, model, optimizer, trainerState, CpuGeneratorState.capture(), metricsOffsets,
                metadata);
    }

    /** A checkpoint of a trainer between steps: its model, optimizer, state and step count. */
    public static Checkpoint capture(Trainer trainer, Map<String, Long> metricsOffsets, Map<String, Object> metadata) {
        return capture(trainer.stepCount(), trainer.model().module(), trainer.optimizer(), trainer.stateDict(),
                metricsOffsets, metadata);
    }

    /** A copy of the generator state. */
    @Override
    public byte[] generatorState() {
        return generatorState.clone();
    }

    private static <V> Map<String, V> copy(Map<String, V> map, String name) {
        return Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(map, name)));
    }
}
