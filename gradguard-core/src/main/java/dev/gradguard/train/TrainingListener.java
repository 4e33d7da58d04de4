package dev.gradguard.train;

/**
 * The trainer's hook points, called in this order: {@link #onTrainStart} once; in every step
 * {@link #onGradients} (after backward, before the gradient pipeline) and {@link #onStep} (after the
 * optimizer and the schedule, so the result is final); {@link #onTrainEnd} once, also when training
 * stopped early. Listeners run on the training thread; keep them quick.
 */
public interface TrainingListener {

    /** Before the first step of a call to {@link Trainer#run(long)}. */
    default void onTrainStart(Trainer trainer, long totalSteps) {
    }

    /**
     * After backward (and the fault-injection aid), before the gradient pipeline: the gradients are the
     * raw, accumulated, pre-clip ones. Read them, never change them. Runs inside the step's
     * {@code PointerScope}; the default does nothing, so the hook costs nothing unless a listener uses it.
     */
    default void onGradients(long step, dev.gradguard.model.Parameters parameters) {
    }

    /** After each step. */
    default void onStep(StepResult result) {
    }

    /** After the last step, or when training stopped early. */
    default void onTrainEnd(TrainingOutcome outcome) {
    }
}
