package dev.gradguard.optim;

import dev.gradguard.state.Stateful;

/**
 * The learning rate over a run. The trainer reads {@link #lr()} before each optimizer update and calls
 * {@link #afterUpdate(double)} after each update that was applied. A skipped step (non-finite gradients,
 * a spike) does not advance the schedule, as in Megatron-LM, where the scheduler steps only on
 * successful updates.
 *
 * <p>Schedules count applied updates from 0: before any {@code afterUpdate}, {@link #lr()} is the rate
 * of update 0. {@link Schedules} builds them. Their state
 * (see {@link Stateful}) holds everything that decides later rates, so a schedule restored from
 * {@link #stateDict()} continues bit for bit like the one saved.
 */
public interface LrSchedule extends Stateful {

    /** The learning rate for the next optimizer update. */
    double lr();

    /**
     * Advances the schedule by one applied update.
     *
     * @param loss the training loss of that step (used by schedules that watch a metric)
     */
    void afterUpdate(double loss);
}
