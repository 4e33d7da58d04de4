package dev.gradguard.task;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Settings shared by the built-in tasks; each task reads the ones that apply to it. Start from
 * {@link #defaults()} and change fields with the {@code with*} methods.
 *
 * @param length sequence length of the synthetic tasks; empty means the task's default (30 for
 *     {@code adding}, 100 for {@code temporal-order}, where the default job needs clipping)
 * @param hidden hidden units of the recurrent layer, or the width of a transformer; empty means the task's
 *     default for the model (see each task)
 * @param evalSamples held-out sequences the synthetic tasks generate for evaluation; default 10,000
 *     ({@code charlm} always scores its whole held-out split)
 * @param dataPath the UTF-8 text file {@code charlm} trains on; required by {@code charlm} only
 * @param seqLen window length of {@code charlm}'s training sequences; default 64
 * @param layers blocks of a transformer; empty means the task's default. Sizes model {@code transformer} only
 * @param heads attention heads of a transformer, dividing its width; empty means the task's default. Sizes
 *     model {@code transformer} only
 */
public record TaskOptions(OptionalInt length, OptionalInt hidden, int evalSamples, Optional<Path> dataPath, int seqLen,
        OptionalInt layers, OptionalInt heads) {

    public static final int DEFAULT_EVAL_SAMPLES = 10_000;
    public static final int DEFAULT_SEQ_LEN = 64;

    /**
     * @throws IllegalArgumentException naming the field if a number is below 1
     * @throws NullPointerException if an optional is null
     */
    public TaskOptions {
        Objects.requireNonNull(length, "length");
        Objects.requireNonNull(hidden, "hidden");
        Objects.requireNonNull(dataPath, "dataPath");
        Objects.requireNonNull(layers, "layers");
        Objects.requireNonNull(heads, "heads");
        if (length.isPresent()) {
            requirePositive("length", length.getAsInt());
        }
        requirePositive("evalSamples", evalSamples);
        requirePositive("seqLen", seqLen);
        if (hidden.isPresent()) {
            requirePositive("hidden", hidden.getAsInt());
        }
        if (layers.isPresent()) {
            requirePositive("layers", layers.getAsInt());
        }
        if (heads.isPresent()) {
            requirePositive("heads", heads.getAsInt());
        }
    }

    /** The task's default length and model sizes, 10,000 evaluation samples, no data file, window 64. */
    public static TaskOptions defaults() {
        return new TaskOptions(OptionalInt.empty(), OptionalInt.empty(), DEFAULT_EVAL_SAMPLES, Optional.empty(),
                DEFAULT_SEQ_LEN, OptionalInt.empty(), OptionalInt.empty());
    }

    public TaskOptions withLength(int newLength) {
        return new TaskOptions(OptionalInt.of(newLength), hidden, evalSamples, dataPath, seqLen, layers, heads);
    }

    public TaskOptions withHidden(int newHidden) {
        return new TaskOptions(length, OptionalInt.of(newHidden), evalSamples, dataPath, seqLen, layers, heads);
    }

    public TaskOptions withEvalSamples(int newEvalSamples) {
        return new TaskOptions(length, hidden, newEvalSamples, dataPath, seqLen, layers, heads);
    }

    public TaskOptions withDataPath(Path newDataPath) {
        return new TaskOptions(length, hidden, evalSamples, Optional.of(newDataPath), seqLen, layers, heads);
    }

    public TaskOptions withSeqLen(int newSeqLen) {
        return new TaskOptions(length, hidden, evalSamples, dataPath, newSeqLen, layers, heads);
    }

    public TaskOptions withLayers(int newLayers) {
        return new TaskOptions(length, hidden, evalSamples, dataPath, seqLen, OptionalInt.of(newLayers), heads);
    }

    public TaskOptions withHeads(int newHeads) {
        return new TaskOptions(length, hidden, evalSamples, dataPath, seqLen, layers, OptionalInt.of(newHeads));
    }

    /** The sequence length to use: the one set, else {@code taskDefault}. */
    int lengthOr(int taskDefault) {
        return length.orElse(taskDefault);
    }

    /** The hidden size to use: the one set, else {@code taskDefault}. */
    int hiddenOr(int taskDefault) {
        return hidden.orElse(taskDefault);
    }

    private static void requirePositive(String field, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(field + " must be at least 1, got " + value);
        }
    }
}
