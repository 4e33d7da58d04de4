package dev.gradguard.control;

import dev.gradguard.clip.PipelineReport;
import dev.gradguard.state.Stateful;
import java.util.List;

/**
 * Adjusts training while it runs, from what each step's gradients looked like. The trainer calls
 * {@link #observe} once per step, right after the guard decided whether the update is applied, and
 * multiplies the schedule's learning rate by {@link #lrScale()} for every later update. A controller may
 * also change the threshold of a {@link dev.gradguard.clip.ThresholdClip} it was given; that applies from
 * the next step on.
 *
 * <p>Its state (counters, windows, the scale) survives checkpoints through {@link Stateful}. Not
 * thread-safe: the training thread drives it.
 */
public interface Controller extends Stateful {

    /**
     * Takes one step into account.
     *
     * @param step the 0-based step
     * @param clip what the gradient pipeline measured and did in that step
     * @param updateApplied whether the guard let the optimizer step
     * @return what the controller changed because of this step, in order; empty on most steps
     */
    List<ControlDecision> observe(long step, PipelineReport clip, boolean updateApplied);

    /** The factor, in {@code (0, 1]}, that the schedule's learning rate is multiplied by; 1 at the start. */
    double lrScale();
}
