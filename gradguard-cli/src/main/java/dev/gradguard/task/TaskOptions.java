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
 * @param hidden hidden units of the recurrent layer; empty means the task's default (32 for the synthetic
 *     tasks, 128 for {@code charlm})
 * @param evalSamples held-out sequences the synthetic tasks generate for evaluation; default 10,000
 *     ({@code charlm} always scores its whole held-out split)
 * @param dataPath the UTF-8 text file {@code charlm} trains on; required by {@code charlm} only
 * @param seqLen window length of {@code charlm}'s training sequences; default 64
 */
public record TaskOptions(OptionalInt length, OptionalInt hidden, int evalSamples, Optional<Path> dataPath, int seqLen) {

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
        if (length.isPresent()) {
            requirePositive("length", length.getAsInt());
        }
        requirePositive("evalSamples", evalSamples);
        requirePositive("seqLen", seqLen);
        if (hidden.isPresent()) {
            requirePositive("hidden", hidden.getAsInt());
        }
    }

    /** The task's default length and hidden size, 10,000 evaluation samples, no data file, window 64. */
    public static TaskOptions defaults() {
        return new TaskOptions(OptionalInt.empty(), OptionalInt.empty(), DEFAULT_EVAL_SAMPLES, Optional.empty(),
                DEFAULT_SEQ_LEN);
    }

    public TaskOptions withLength(int newLength) {
        return new TaskOptions(OptionalInt.of(newLength), hidden, evalSamples, dataPath, seqLen);
    }

    public TaskOptions withHidden(int newHidden) {
        return new TaskOptions(length, OptionalInt.of(newHidden), evalSamples, dataPath, seqLen);
    }

    public TaskOptions withEvalSamples(int newEvalSamples) {
        return new TaskOptions(length, hidden, newEvalSamples, dataPath, seqLen);
    }

    public TaskOptions withDataPath(Path newDataPath) {
        return new TaskOptions(length, hidden, evalSamples, Optional.of(newDataPath), seqLen);
    }

    public TaskOptions withSeqLen(int newSeqLen) {
        return new TaskOptions(length, hidden, evalSamples, dataPath, newSeqLen);
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
