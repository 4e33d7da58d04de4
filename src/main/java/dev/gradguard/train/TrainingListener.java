package dev.gradguard.train;

/**
 * The trainer's hook points, called in this order: {@link #onTrainStart} once, {@link #onStep} after
 * every step (after the optimizer and the schedule, so the result is final), {@link #onTrainEnd} once,
 * also when training stopped early. Listeners run on the training thread; keep them quick.
 */
public interface TrainingListener {

    /** Before the first step of a call to {@link Trainer#run(long)}. */
    default void onTrainStart(Trainer trainer, long totalSteps) {
    }

    /** After each step. */
    default void onStep(StepResult result) {
    }

    /** After the last step, or when training stopped early. */
    default void onTrainEnd(TrainingOutcome outcome) {
    }
}
