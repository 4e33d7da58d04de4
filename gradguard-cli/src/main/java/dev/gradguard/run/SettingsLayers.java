package dev.gradguard.run;

import dev.gradguard.cli.spec.ClipSpecs;
import dev.gradguard.task.Tasks;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The settings given explicitly, layer over layer (a config file, then flags), each value checked as it is
 * given. {@link #resolve()} puts them over the defaults: the task's and model's training defaults
 * ({@link Tasks#trainingDefaults}) where a key is not given, else the built-in ones. Every key is both a flag
 * ({@code --batch-size}) and a config key ({@code batch-size}; {@code batch_size} is accepted too). Immutable.
 */
public final class SettingsLayers {
    private static final SettingsLayers NONE = new SettingsLayers(Map.of());

    /** The given keys and their checked values. */
    private final Map<String, Object> given;

    private SettingsLayers(Map<String, Object> given) {
        this.given = Collections.unmodifiableMap(given);
    }

    /** No settings given: {@link #resolve()} is the built-in defaults. */
    public static SettingsLayers none() {
        return NONE;
    }

    /**
     * These layers with one more over them.
     *
     * @param values values as a config file or a flag gives them (strings, numbers, booleans, lists)
     * @param source where they come from, for error messages (e.g. {@code run.yaml} or {@code command line})
     * @throws IllegalArgumentException naming the unknown key (with the closest known one) or the bad value and
     *     what is allowed
     */
    public SettingsLayers with(Map<String, ?> values, String source) {
        Map<String, Object> merged = new LinkedHashMap<>(given);
        for (Map.Entry<String, ?> e : values.entrySet()) {
            String key = canonical(e.getKey());
            Setting setting = TrainSettings.SCHEMA.get(key);
            if (setting == null) {
                throw new IllegalArgumentException("unknown key '" + e.getKey() + "' in " + source + suggestion(key)
                        + " (allowed: " + String.join(", ", TrainSettings.SCHEMA.keySet()) + ")");
            }
            if (e.getValue() == null) {
                throw new IllegalArgumentException(source + ": '" + key + "' has no value; it must be " + setting.allowed());
            }
            try {
                merged.put(key, setting.read(e.getValue()));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(source + ": " + ex.getMessage(), ex);
            }
        }
        return new SettingsLayers(merged);
    }

    /** These layers with {@code over}'s on top. */
    public SettingsLayers then(SettingsLayers over) {
        Map<String, Object> merged = new LinkedHashMap<>(given);
        merged.putAll(over.given);
        return new SettingsLayers(merged);
    }

    /** Whether a layer gives {@code key}. */
    public boolean gives(String key) {
        return given.containsKey(key);
    }

    /** The given keys and their checked values (JSON values: strings, numbers, booleans, lists), in given order. */
    public Map<String, Object> given() {
        return given;
    }

    /**
     * The settings: the given values over the task's and model's training defaults over the built-in ones, with
     * the controller {@code none} where none is given and the clip policy has no threshold for it.
     */
    public TrainSettings resolve() {
        Map<String, Object> values = TrainSettings.defaults().asMap();
        values.putAll(given);
        Tasks.trainingDefaults(String.valueOf(values.get("task")), String.valueOf(values.get("model"))).forEach((key, value) -> {
            if (!given.containsKey(key)) {
                values.put(key, TrainSettings.SCHEMA.get(key).read(value));
            }
        });
        if (!given.containsKey("controller") && !ClipSpecs.hasThreshold(String.valueOf(values.get("clip")))) {
            // the default controller acts on a clip threshold; a policy without one (none, value:V, a spike
            // guard alone) gets none, while asking for a controller with it stays an error
            values.put("controller", "none");
        }
        return TrainSettings.fromValues(values);
    }

    private static String canonical(String key) {
        return key.trim().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    private static String suggestion(String key) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String known : TrainSettings.SCHEMA.keySet()) {
            if (key.length() > known.length() && key.startsWith(known)) {
                return " (did you mean '" + known + "'?)";
            }
            int d = editDistance(key, known);
            if (d < bestDistance) {
                bestDistance = d;
                best = known;
            }
        }
        return best != null && bestDistance <= Math.max(2, key.length() / 3) ? " (did you mean '" + best + "'?)" : "";
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
