package dev.gradguard.clip;

/**
 * Thrown by {@link ClipGrad} when it was asked to check the gradients' total norm and that norm is NaN or
 * infinite. The gradients are left as they were.
 */
public final class NonFiniteNormException extends ArithmeticException {
    private final double norm;
    private final double normType;

    /**
     * @param norm the non-finite total norm
     * @param normType the order of the norm
     */
    public NonFiniteNormException(double norm, double normType) {
        super("The total norm of order " + ClipGrad.pythonFloat(normType) + " for gradients from `parameters` is "
                + "non-finite (" + ClipGrad.pythonFloat(norm) + "), so it cannot be clipped. To disable this error "
                + "and scale the gradients by the non-finite norm anyway, pass errorIfNonfinite = false");
        this.norm = norm;
        this.normType = normType;
    }

    /** The total norm that was found: NaN or an infinity. */
    public double norm() {
        return norm;
    }

    /** The order of the norm, e.g. 2.0 or {@code Double.POSITIVE_INFINITY}. */
    public double normType() {
        return normType;
    }
}
