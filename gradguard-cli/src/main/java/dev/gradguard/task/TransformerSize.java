package dev.gradguard.task;

/**
 * The size of a task's {@code transformer} model: the options' {@code hidden} (the width), {@code layers} and
 * {@code heads}, else the task's defaults.
 */
record TransformerSize(int width, int layers, int heads) {
    /** The model name of the Transformers in every task's model list. */
    static final String MODEL = "transformer";

    /**
     * The size the options ask for, each unset field the task's default.
     *
     * @throws IllegalArgumentException if the width is not divisible by the heads
     */
    static TransformerSize resolve(TaskOptions options, TransformerSize defaults) {
        TransformerSize size = new TransformerSize(options.hiddenOr(defaults.width),
                options.layers().orElse(defaults.layers), options.heads().orElse(defaults.heads));
        if (size.width % size.heads != 0) {
            throw new IllegalArgumentException("'hidden' " + size.width + " must be divisible by 'heads' " + size.heads
                    + " for model " + MODEL);
        }
        return size;
    }

    /**
     * Checks that options meant for a Transformer are not given to another model.
     *
     * @throws IllegalArgumentException if {@code layers} or {@code heads} is set and {@code model} is not
     *     {@value #MODEL}
     */
    static void checkOnlyForTransformer(TaskOptions options, String task, String model) {
        if (!model.equals(MODEL) && (options.layers().isPresent() || options.heads().isPresent())) {
            throw new IllegalArgumentException("'layers' and 'heads' size model " + MODEL + " only, not " + model
                    + " (task " + task + ")");
        }
    }

    /**
     * A task's model sizes as a run records them: {@code hidden} (a transformer's width), {@code layers} and
     * {@code heads} for a transformer, and {@code length}, each with the task's default filled in.
     */
    static java.util.Map<String, Object> recorded(TaskOptions options, String modelName, TransformerSize transformer,
            int hidden, int length) {
        java.util.Map<String, Object> sizes = new java.util.LinkedHashMap<>();
        if (modelName.equals(ModelFile.MODEL)) { // its sizes are its own; the task's length still shapes the data
            return java.util.Map.of("length", (long) length);
        }
        if (modelName.equals(MODEL)) {
            TransformerSize size = resolve(options, transformer);
            sizes.put("hidden", (long) size.width());
            sizes.put("layers", (long) size.layers());
            sizes.put("heads", (long) size.heads());
        } else {
            sizes.put("hidden", (long) options.hiddenOr(hidden));
        }
        sizes.put("length", (long) length);
        return sizes;
    }
}
