package dev.gradguard.guard;

/**
 * Why a step's update did not reach the weights. Each reason has a stable {@link #code()} for machines
 * ({@code metrics.jsonl}'s {@code skip_code}); the human-readable detail travels beside it in {@link Skip}.
 */
public enum SkipReason {
    /** The loss was NaN or infinite. */
    NON_FINITE_LOSS("nonfinite_loss", true),
    /** The gradients (before or after the pipeline) held NaN or an infinity. */
    NON_FINITE_GRADIENT("nonfinite_gradient", true),
    /**
     * The update would have put NaN or an infinity into the weights (finite gradients, but the learning rate,
     * weight decay, momentum or optimizer state overflowed): the parameters and optimizer state were put back
     * as they were before the optimizer step.
     */
    UPDATE("update", true),
    /** fp16 loss scaling overflowed: routine while the scale calibrates, never counted as non-finite. */
    FP16_OVERFLOW("fp16_overflow", false),
    /** A gradient transform (a spike guard) asked to skip the step. */
    SPIKE("spike", false),
    /** Another data-parallel rank skipped this step, so every rank skips it. */
    PEER_SKIPPED("peer_skipped", false);

    private final String code;
    private final boolean nonFinite;

    SkipReason(String code, boolean nonFinite) {
        this.code = code;
        this.nonFinite = nonFinite;
    }

    /** The stable, lower-case machine-readable name, e.g. {@code nonfinite_loss}. */
    public String code() {
        return code;
    }

    /** Whether the skip counts as a non-finite step (loss, gradient or update), towards the guard's limit. */
    public boolean nonFinite() {
        return nonFinite;
    }
}
