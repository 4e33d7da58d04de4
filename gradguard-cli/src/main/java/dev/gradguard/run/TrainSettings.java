package dev.gradguard.run;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import com.fasterxml.jackson.core.type.TypeReference;
import dev.gradguard.metrics.Json;
import dev.gradguard.task.Tasks;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * The settings of a {@code train} run, one immutable record per concern. As JSON (Jackson; {@code config.json}
 * and {@code summary.json}'s {@code config}) they are one flat object whose keys are the flags' names without
 * {@code --}, e.g. {@code {"task": "adding", "model": "gru", "batch-size": 64, ...}}, less {@code layers} and
 * {@code heads} where the model is not a transformer, which they do not size ({@link ProblemSettings}).
 *
 * <p>Where they come from, lowest first: each concern's built-in defaults ({@code DEFAULTS}), the task's and
 * model's training defaults ({@link Tasks#trainingDefaults}, e.g. AdamW for a transformer) for every key that is
 * not given, then what is given: a config file, then flags ({@link SettingsLayers}).
 */
public record TrainSettings(@JsonUnwrapped ProblemSettings problem, @JsonUnwrapped OptimizationSettings optimization,
        @JsonUnwrapped LoopSettings loop, @JsonUnwrapped GuardSettings guard, @JsonUnwrapped ComputeSettings compute,
        @JsonUnwrapped CheckpointSettings checkpoints, @JsonUnwrapped MetricsSettings metrics) {

    private static final TypeReference<LinkedHashMap<String, Object>> FLAT = new TypeReference<>() {
    };

    /** How each key's value is read from a file or a flag, in {@link #keys()}'s order. */
    static final Map<String, Setting> SCHEMA = schema();

    /** Keys a resumed run may change: how long it trains and how it checkpoints and logs, not what it computes. */
    public static final List<String> RESUMABLE_CHANGES =
            List.of("steps", "checkpoint-every", "keep-checkpoints", "rollback", "max-nonfinite", "grad-norm-every", "grad-sync",
                    "tensorboard");

    private static Map<String, Setting> schema() {
        Map<String, Setting> schema = new LinkedHashMap<>();
        Stream.of(ProblemSettings.KEYS, OptimizationSettings.KEYS, LoopSettings.KEYS, GuardSettings.KEYS, ComputeSettings.KEYS,
                CheckpointSettings.KEYS, MetricsSettings.KEYS).flatMap(List::stream).forEach(s -> schema.put(s.name(), s));
        return schema;
    }

    /** The built-in defaults: the default job. */
    public static TrainSettings defaults() {
        return new TrainSettings(ProblemSettings.DEFAULTS, OptimizationSettings.DEFAULTS, LoopSettings.DEFAULTS,
                GuardSettings.DEFAULTS, ComputeSettings.DEFAULTS, CheckpointSettings.DEFAULTS, MetricsSettings.DEFAULTS);
    }

    /** The keys, in the order help texts and summaries list them. */
    public static List<String> keys() {
        return List.copyOf(SCHEMA.keySet());
    }

    /**
     * The settings with {@code given} over the defaults, as {@link SettingsLayers} layers them.
     *
     * @param given values as a config file or a flag gives them (strings, numbers, booleans, lists)
     * @param source where they come from, for error messages (e.g. {@code run.yaml})
     * @throws IllegalArgumentException naming the unknown key (with the closest known one) or the bad value and
     *     what is allowed
     */
    public static TrainSettings of(Map<String, ?> given, String source) {
        return SettingsLayers.none().with(given, source).resolve();
    }

    /**
     * The settings of a run being resumed: its saved settings, with what this command gives explicitly (which may
     * only change what {@link #RESUMABLE_CHANGES} lists).
     *
     * @throws IllegalArgumentException naming the first key whose explicit value differs from the saved one
     */
    public static TrainSettings forResume(Map<String, ?> saved, SettingsLayers explicit) {
        SettingsLayers savedLayer = SettingsLayers.none().with(saved, "the saved run's config.json");
        Map<String, Object> before = savedLayer.resolve().asMap();
        TrainSettings wanted = savedLayer.then(explicit).resolve();
        Map<String, Object> after = wanted.asMap();
        for (String key : SCHEMA.keySet()) {
            if (!RESUMABLE_CHANGES.contains(key) && !Objects.equals(before.get(key), after.get(key))) {
                throw new IllegalArgumentException("cannot resume with " + setting(key, after) + ": the run was trained"
                        + " with " + setting(key, before) + " (a resumed run may change only "
                        + String.join(", ", RESUMABLE_CHANGES) + ")");
            }
        }
        return wanted;
    }

    /** {@code key=value}, or {@code key unset} where the settings leave it out (it does not apply to their model). */
    private static String setting(String key, Map<String, Object> settings) {
        return settings.containsKey(key) ? key + "=" + settings.get(key) : key + " unset";
    }

    /** Settings from values {@link #SCHEMA} has read, one per key. */
    static TrainSettings fromValues(Map<String, Object> values) {
        return Json.compact().convertValue(values, TrainSettings.class);
    }

    /**
     * The settings as their JSON object's keys and values, for tables and comparisons: no {@code layers} and
     * {@code heads} where they do not apply.
     */
    public Map<String, Object> asMap() {
        return Json.compact().convertValue(this, FLAT);
    }

    /**
     * These settings with some keys replaced, each checked as a config file's value is.
     *
     * @throws IllegalArgumentException as {@link #of}
     */
    public TrainSettings with(Map<String, ?> changes, String source) {
        Map<String, Object> all = asMap();
        all.putAll(changes);
        return of(all, source);
    }
}
