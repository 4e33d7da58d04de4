package dev.gradguard.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The problem a run trains on: the task, its model, the model's sizes and the task's data. A size of 0 stands for the
 * task's default until the run resolves it; the configuration a run records holds the resolved sizes.
 * {@code layers} and {@code heads} size a transformer only: for any other model they stay 0, which means "does not
 * apply", and the JSON form leaves them out, so a recorded configuration never holds a placeholder 0 for them (a
 * configuration that does, as earlier versions recorded for recurrent models, reads as leaving them out).
 *
 * @param name the task ({@code task})
 * @param model a model the task supports, or {@code auto} for its first
 * @param modelFile a TorchScript file to train instead of a built-in model, or empty
 * @param hidden hidden units (a transformer's width), or 0 for the task's default (a built-in model) or none (a
 *     model file, whose sizes are its own)
 * @param layers blocks of a transformer, or 0 for the task's default (for a transformer) or none (any other model)
 * @param heads attention heads of a transformer, or 0 for the task's default (for a transformer) or none (any other
 *     model)
 * @param length sequence length (charlm's window), or 0 for the task's default
 * @param data charlm's text file, or empty
 * @param evalSamples held-out sequences for evaluation
 */
@JsonNaming(PropertyNamingStrategies.KebabCaseStrategy.class)
public record ProblemSettings(@JsonProperty("task") String name, String model, String modelFile,
        @JsonInclude(JsonInclude.Include.NON_DEFAULT) int hidden,
        @JsonInclude(JsonInclude.Include.NON_DEFAULT) int layers,
        @JsonInclude(JsonInclude.Include.NON_DEFAULT) int heads,
        int length, String data, int evalSamples) {

    static final ProblemSettings DEFAULTS = new ProblemSettings("temporal-order", "auto", "", 0, 0, 0, 0, "", 10_000);

    static final List<Setting> KEYS = List.of(
            Setting.text("task", "a task name (adding, temporal-order, charlm)"),
            Setting.text("model", "a model name the task supports (gru, lstm, rnn, transformer), or auto"),
            Setting.optionalText("model-file", "a TorchScript file saved in Python with "
                    + "torch.jit.save(torch.jit.script(model), FILE)"),
            Setting.integer("hidden", 0, 1_000_000, "an integer >= 1, or 0 for the task's default"),
            Setting.integer("layers", 0, 1_000, "an integer >= 1, or 0 for the task's default"),
            Setting.integer("heads", 0, 1_000_000, "an integer >= 1, or 0 for the task's default"),
            Setting.integer("length", 0, 1_000_000, "an integer >= 2, or 0 for the task's default"),
            Setting.optionalText("data", "a path to a UTF-8 text file"),
            Setting.integer("eval-samples", 1, 10_000_000));

    /** The model file, when one is set. */
    public Optional<Path> modelFilePath() {
        return SettingValues.path(modelFile);
    }

    /** The data file, when one is set. */
    public Optional<Path> dataPath() {
        return SettingValues.path(data);
    }

    /** {@link #hidden}, or empty for the task's default. */
    public OptionalInt hiddenSize() {
        return SettingValues.size(hidden);
    }

    /** {@link #layers}, or empty for the task's default (a transformer) or where it does not apply (other models). */
    public OptionalInt layerCount() {
        return SettingValues.size(layers);
    }

    /** {@link #heads}, or empty for the task's default (a transformer) or where it does not apply (other models). */
    public OptionalInt headCount() {
        return SettingValues.size(heads);
    }

    /** {@link #length}, or empty for the task's default. */
    public OptionalInt sequenceLength() {
        return SettingValues.size(length);
    }
}
