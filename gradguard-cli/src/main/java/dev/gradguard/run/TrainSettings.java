package dev.gradguard.run;

import dev.gradguard.amp.Precision;
import dev.gradguard.cli.spec.ClipSpecs;
import dev.gradguard.cli.spec.ControllerSpecs;
import dev.gradguard.cli.spec.DivergenceSpecs;
import dev.gradguard.cli.spec.ScheduleSpecs;
import dev.gradguard.task.Tasks;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The settings of a {@code train} run: built-in defaults, overridden by a config file, overridden by
 * flags. Where the chosen task and model have training defaults of their own
 * ({@link Tasks#trainingDefaults}, e.g. AdamW for {@code --model transformer}), those replace the built-in
 * defaults of every key that the file and the flags leave unset. Every key is both a flag ({@code --batch-size}) and a config key ({@code batch-size}; in files
 * {@code batch_size} is accepted too). Immutable; {@link #asMap()} is the effective configuration that
 * {@code summary.json} records.
 */
public final class TrainSettings {
    private static final Map<String, Setting> SCHEMA = new LinkedHashMap<>();
    private static final Map<String, Object> DEFAULTS = new LinkedHashMap<>();

    static {
        define(Setting.text("task", "a task name (adding, temporal-order, charlm)"), "temporal-order");
        define(Setting.text("model", "a model name the task supports (gru, lstm, rnn, transformer), or auto"), "auto");
        define(Setting.optionalText("model-file", "a TorchScript file saved in Python with "
                + "torch.jit.save(torch.jit.script(model), FILE)"), "");
        define(Setting.integer("steps", 1, Long.MAX_VALUE), 1500L);
        define(Setting.integer("batch-size", 1, 1_000_000), 64L);
        define(Setting.positiveNumber("lr"), 1.75);
        define(Setting.choice("optimizer", List.of("sgd", "adam", "adamw")), "sgd");
        define(Setting.numberInRange("momentum", 0, true, 1, false), 0.9);
        define(Setting.bool("nesterov"), false);
        define(Setting.numberOrDefault("weight-decay",
                "a number >= 0 and <= " + Setting.MAX_FLOAT32 + " (the largest float32: parameters are float32), or default"
                        + " (PyTorch's: 0 for sgd and adam, 0.01 for adamw)"), "default");
        define(Setting.text("clip", "a clip policy (" + ClipSpecs.ALLOWED + ")"), "norm:1.0");
        define(Setting.text("controller", "a controller (" + ControllerSpecs.ALLOWED + ")"), "auto");
        define(Setting.text("schedule", "an LR schedule: " + ScheduleSpecs.ALLOWED), "constant");
        define(Setting.integer("seed", 0, Long.MAX_VALUE), 0L);
        define(Setting.optionalText("init-from", "a .safetensors file of the model's weights (gradguard export)"), "");
        define(Setting.text("device", "one of " + dev.gradguard.engine.Devices.ALLOWED), "auto");
        define(Setting.choice("precision", Precision.NAMES), "fp32");
        define(Setting.numberInRange("loss-scale-init", 0, false, 1e38, true), 65536.0);
        define(Setting.integer("loss-scale-growth-interval", 1, Integer.MAX_VALUE), 2000L);
        define(Setting.bool("flush-denormal"), true);
        define(Setting.bool("grad-buffer"), true);
        define(Setting.choice("grad-sync", java.util.Arrays.stream(dev.gradguard.dist.GradSync.values())
                .map(dev.gradguard.dist.GradSync::cliName).toList()), dev.gradguard.dist.GradSync.DEFAULT.cliName());
        define(Setting.integer("threads", 1, 4096), (long) Runtime.getRuntime().availableProcessors());
        define(Setting.integer("accumulate", 1, 1_000_000), 1L);
        define(Setting.integer("hidden", 0, 1_000_000, "an integer >= 1, or 0 for the task's default"), 0L);
        define(Setting.integer("layers", 0, 1_000, "an integer >= 1, or 0 for the task's default"), 0L);
        define(Setting.integer("heads", 0, 1_000_000, "an integer >= 1, or 0 for the task's default"), 0L);
        define(Setting.integer("length", 0, 1_000_000,
                "an integer >= 2, or 0 for the task's default"), 0L);
        define(Setting.optionalText("data", "a path to a UTF-8 text file"), "");
        define(Setting.integer("eval-samples", 1, 10_000_000), 10_000L);
        define(Setting.integer("max-nonfinite", 1, Integer.MAX_VALUE), 20L);
        define(Setting.text("divergence-stop", DivergenceSpecs.ALLOWED), "10:100");
        define(Setting.stepList("inject-nonfinite"), List.of());
        define(Setting.integer("checkpoint-every", 0, Long.MAX_VALUE,
                "an integer >= 0 (steps between checkpoints; 0 = only at the end)"), 0L);
        define(Setting.integer("keep-checkpoints", 1, 1_000_000), 3L);
        define(Setting.integer("rollback", 0, 1_000_000,
                "an integer >= 0 (rollbacks to the last checkpoint allowed on spikes; 0 = off)"), 0L);
        define(Setting.optionalDirectory("tensorboard", "a directory for TensorBoard event files"), "");
        define(Setting.integer("grad-norm-every", 0, Long.MAX_VALUE,
                "an integer >= 0 (steps between per-parameter gradient norms in TensorBoard; 0 = never)"), 100L);
    }

    private final Map<String, Object> values;
    /** The keys set explicitly (by a file, flags or a saved run), which no task default replaces. */
    private final Set<String> given;

    private TrainSettings(Map<String, Object> values, Set<String> given) {
        this.values = Collections.unmodifiableMap(values);
        this.given = Set.copyOf(given);
    }

    private static void define(Setting setting, Object defaultValue) {
        SCHEMA.put(setting.name(), setting);
        DEFAULTS.put(setting.name(), defaultValue);
    }

    /** Whether {@code key} was set explicitly (by a file, flags or a saved run) rather than left at its default. */
    public boolean isGiven(String key) {
        return given.contains(key);
    }

    /** The built-in defaults: the default job. */
    public static TrainSettings defaults() {
        return new TrainSettings(new LinkedHashMap<>(DEFAULTS), Set.of());
    }

    /** The keys, in the order help texts and summaries list them. */
    public static List<String> keys() {
        return List.copyOf(SCHEMA.keySet());
    }

    /**
     * These settings with some keys replaced.
     *
     * @param overrides values as a config file or a flag gives them (strings, numbers, booleans, lists)
     * @param source where the overrides come from, for error messages (e.g. {@code run.yaml} or
     *     {@code command line})
     * @throws IllegalArgumentException naming the unknown key (with the closest known one) or the bad
     *     value and what is allowed
     */
    public TrainSettings with(Map<String, ?> overrides, String source) {
        Map<String, Object> merged = new LinkedHashMap<>(values);
        Set<String> nowGiven = new HashSet<>(given);
        for (Map.Entry<String, ?> e : overrides.entrySet()) {
            String key = canonical(e.getKey());
            Setting setting = SCHEMA.get(key);
            if (setting == null) {
                throw new IllegalArgumentException("unknown key '" + e.getKey() + "' in " + source
                        + suggestion(key) + " (allowed: " + String.join(", ", SCHEMA.keySet()) + ")");
            }
            if (e.getValue() == null) {
                throw new IllegalArgumentException(source + ": '" + key + "' has no value; it must be " + setting.allowed());
            }
            try {
                merged.put(key, setting.read(e.getValue()));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(source + ": " + ex.getMessage(), ex);
            }
            nowGiven.add(key);
        }
        Map<String, Object> taskDefaults = Tasks.trainingDefaults((String) merged.get("task"), (String) merged.get("model"));
        for (String key : SCHEMA.keySet()) {
            if (!nowGiven.contains(key)) {
                merged.put(key, taskDefaults.containsKey(key) ? SCHEMA.get(key).read(taskDefaults.get(key)) : DEFAULTS.get(key));
            }
        }
        return new TrainSettings(merged, nowGiven);
    }

    /** These settings with one key replaced by an already-validated value. */
    public TrainSettings with(String key, Object value) {
        return with(Map.of(key, value), "settings");
    }

    private static String canonical(String key) {
        return key.trim().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    private static String suggestion(String key) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String known : SCHEMA.keySet()) {
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

    /** Keys a resumed run may change: how long it trains and how it checkpoints and logs, not what it computes. */
    public static final List<String> RESUMABLE_CHANGES =
            List.of("steps", "checkpoint-every", "keep-checkpoints", "rollback", "max-nonfinite", "grad-norm-every", "grad-sync",
                    "tensorboard");

    /**
     * The settings of a run being resumed: its saved settings, with the keys this command set explicitly
     * (which may only change what {@link #RESUMABLE_CHANGES} lists).
     *
     * @throws IllegalArgumentException naming the first key whose explicit value differs from the saved one
     */
    public static TrainSettings forResume(Map<String, Object> saved, Map<String, ?> explicit, String source) {
        TrainSettings base = defaults().with(saved, "the saved run's config.json");
        TrainSettings wanted = base.with(explicit, source);
        for (String key : SCHEMA.keySet()) {
            Object before = base.values.get(key);
            Object after = wanted.values.get(key);
            if (!RESUMABLE_CHANGES.contains(key) && !before.equals(after)) {
                throw new IllegalArgumentException("cannot resume with " + key + "=" + after + ": the run was trained with "
                        + key + "=" + before + " (a resumed run may change only " + String.join(", ", RESUMABLE_CHANGES) + ")");
            }
        }
        return wanted;
    }

    /** The effective configuration, key by key. */
    public Map<String, Object> asMap() {
        return values;
    }

    public String task() {
        return (String) values.get("task");
    }

    public String model() {
        return (String) values.get("model");
    }

    /** A TorchScript model to train instead of the task's built-in one, or empty. */
    public Optional<Path> modelFile() {
        String f = (String) values.get("model-file");
        return f.isEmpty() ? Optional.empty() : Optional.of(Path.of(f));
    }

    public long steps() {
        return (Long) values.get("steps");
    }

    public int batchSize() {
        return Math.toIntExact((Long) values.get("batch-size"));
    }

    public double lr() {
        return (Double) values.get("lr");
    }

    public String optimizer() {
        return (String) values.get("optimizer");
    }

    public double momentum() {
        return (Double) values.get("momentum");
    }

    public boolean nesterov() {
        return (Boolean) values.get("nesterov");
    }

    /** The weight decay, or empty for the optimizer's PyTorch default. */
    public OptionalDouble weightDecay() {
        Object v = values.get("weight-decay");
        return v instanceof Double d ? OptionalDouble.of(d) : OptionalDouble.empty();
    }

    public String clip() {
        return (String) values.get("clip");
    }

    public String controller() {
        return (String) values.get("controller");
    }

    public String schedule() {
        return (String) values.get("schedule");
    }

    public long seed() {
        return (Long) values.get("seed");
    }

    /** A safetensors file to start from instead of the seed's initial weights, or empty. */
    public Optional<Path> initFrom() {
        String f = (String) values.get("init-from");
        return f.isEmpty() ? Optional.empty() : Optional.of(Path.of(f));
    }

    /** The device spec: auto, cpu, cuda or cuda:N. */
    public String device() {
        return (String) values.get("device");
    }

    /** The precision of the forward pass and the loss: fp32, or bf16 or fp16 under autocast. */
    public Precision precision() {
        return Precision.of((String) values.get("precision"));
    }

    /** fp16's first loss scale (PyTorch's {@code init_scale}). */
    public double lossScaleInit() {
        return (Double) values.get("loss-scale-init");
    }

    /** fp16's finite steps in a row before the loss scale doubles (PyTorch's {@code growth_interval}). */
    public int lossScaleGrowthInterval() {
        return Math.toIntExact((Long) values.get("loss-scale-growth-interval"));
    }

    /** Whether denormal floats are flushed to zero (see {@code Torch.setFlushDenormal}). */
    public boolean flushDenormal() {
        return (Boolean) values.get("flush-denormal");
    }

    /** How data-parallel ranks average their gradients. */
    public dev.gradguard.dist.GradSync gradSync() {
        return dev.gradguard.dist.GradSync.parse((String) values.get("grad-sync"));
    }

    /** Whether gradients are bound into one flat buffer per (device, dtype). */
    public boolean gradBuffer() {
        return (Boolean) values.get("grad-buffer");
    }

    public int threads() {
        return Math.toIntExact((Long) values.get("threads"));
    }

    public int accumulate() {
        return Math.toIntExact((Long) values.get("accumulate"));
    }

    /** Hidden units (a transformer's width), or empty for the task's default. */
    public OptionalInt hidden() {
        return orTaskDefault("hidden");
    }

    /** Blocks of model transformer, or empty for the task's default. */
    public OptionalInt layers() {
        return orTaskDefault("layers");
    }

    /** Attention heads of model transformer, or empty for the task's default. */
    public OptionalInt heads() {
        return orTaskDefault("heads");
    }

    /** A size whose 0 means the task's default. */
    private OptionalInt orTaskDefault(String key) {
        int v = Math.toIntExact((Long) values.get(key));
        return v == 0 ? OptionalInt.empty() : OptionalInt.of(v);
    }

    /** Sequence length (or charlm's window), or empty for the task's default. */
    public OptionalInt length() {
        int t = Math.toIntExact((Long) values.get("length"));
        return t == 0 ? OptionalInt.empty() : OptionalInt.of(t);
    }

    public Optional<Path> data() {
        String d = (String) values.get("data");
        return d.isEmpty() ? Optional.empty() : Optional.of(Path.of(d));
    }

    public int evalSamples() {
        return Math.toIntExact((Long) values.get("eval-samples"));
    }

    public int maxNonfinite() {
        return Math.toIntExact((Long) values.get("max-nonfinite"));
    }

    /** When a run whose loss runs away stops: {@code off} or {@code FACTOR:STEPS}. */
    public String divergenceStop() {
        return (String) values.get("divergence-stop");
    }

    /** Steps between checkpoints; 0 for a checkpoint at the end only. */
    public long checkpointEvery() {
        return (Long) values.get("checkpoint-every");
    }

    /** How many times a spike may roll the run back to its last checkpoint; 0 for never. */
    public int rollback() {
        return Math.toIntExact((Long) values.get("rollback"));
    }

    /** How many checkpoints are kept. */
    public int keepCheckpoints() {
        return Math.toIntExact((Long) values.get("keep-checkpoints"));
    }

    /** Where TensorBoard event files go; empty for the run directory. */
    public Optional<Path> tensorboard() {
        String d = (String) values.get("tensorboard");
        return d.isEmpty() ? Optional.empty() : Optional.of(Path.of(d));
    }

    /** Steps between per-parameter gradient norms in TensorBoard; 0 for never. */
    public int gradNormEvery() {
        return Math.toIntExact((Long) values.get("grad-norm-every"));
    }

    @SuppressWarnings("unchecked")
    public List<Long> injectNonfinite() {
        return new ArrayList<>((List<Long>) values.get("inject-nonfinite"));
    }
}
