package dev.gradguard.guard;

/** Too many consecutive steps had a non-finite loss, gradient or update; training cannot go on usefully. */
public final class TrainingDivergedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long step;

    public TrainingDivergedException(long step, String message) {
        super(message);
        this.step = step;
    }

    /** The step at which the guard gave up. */
    public long step() {
        return step;
    }
}
