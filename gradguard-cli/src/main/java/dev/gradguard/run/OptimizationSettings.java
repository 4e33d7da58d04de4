package dev.gradguard.run;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import dev.gradguard.cli.spec.ScheduleSpecs;
import java.util.List;
import java.util.OptionalDouble;

/**
 * How the weights are updated: the optimizer, its learning rate and schedule.
 *
 * @param name sgd, adam or adamw ({@code optimizer})
 * @param lr the learning rate
 * @param momentum SGD's momentum
 * @param nesterov SGD's Nesterov momentum
 * @param weightDecay the weight decay, or PyTorch's default for the optimizer
 * @param schedule the learning-rate schedule, as {@code --schedule} takes it
 */
@JsonNaming(PropertyNamingStrategies.KebabCaseStrategy.class)
public record OptimizationSettings(@JsonProperty("optimizer") String name, double lr, double momentum, boolean nesterov,
        WeightDecay weightDecay, String schedule) {

    static final OptimizationSettings DEFAULTS =
            new OptimizationSettings("sgd", 1.75, 0.9, false, WeightDecay.PYTORCH_DEFAULT, "constant");

    static final List<Setting> KEYS = List.of(
            Setting.choice("optimizer", List.of("sgd", "adam", "adamw")),
            Setting.positiveNumber("lr"),
            Setting.numberInRange("momentum", 0, true, 1, false),
            Setting.bool("nesterov"),
            Setting.numberOrDefault("weight-decay", "a number >= 0 and <= " + Setting.MAX_FLOAT32 + " (the largest"
                    + " float32: parameters are float32), or default (PyTorch's: 0 for sgd and adam, 0.01 for adamw)"),
            Setting.text("schedule", "an LR schedule: " + ScheduleSpecs.ALLOWED));

    /**
     * A weight decay: a number, or the word {@code default} for PyTorch's default of the optimizer.
     *
     * @param value the decay, or empty for PyTorch's default
     */
    public record WeightDecay(OptionalDouble value) {
        static final WeightDecay PYTORCH_DEFAULT = new WeightDecay(OptionalDouble.empty());

        @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
        static WeightDecay fromJson(Object json) {
            return json instanceof Number n ? new WeightDecay(OptionalDouble.of(n.doubleValue())) : PYTORCH_DEFAULT;
        }

        @JsonValue
        Object toJson() {
            return value.isPresent() ? (Object) value.getAsDouble() : "default";
        }
    }
}
