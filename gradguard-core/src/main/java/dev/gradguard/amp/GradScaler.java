package dev.gradguard.amp;

import dev.gradguard.engine.Torch;
import dev.gradguard.state.StateMaps;
import dev.gradguard.state.Stateful;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Dynamic loss scaling for float16 mixed precision, with the semantics of PyTorch's
 * {@code torch.amp.GradScaler}: small float16 gradients underflow to zero, so the loss is multiplied by a
 * large scale before {@code backward()}, the gradients are divided by it again before anything reads them,
 * and the scale adapts: halved (by default) whenever a step produced an infinity or NaN, doubled after
 * {@code growthInterval} finite steps in a row.
 *
 * <p>The order of one step, which nothing may reorder:
 * <pre>{@code
 * scaler.scale(loss).backward();      // gradients are scaled
 * scaler.unscale(parameters);         // gradients are true gradients again; inf/NaN recorded
 * clip(parameters);                   // clipping sees the real norm
 * if (scaler.shouldStep()) {          // skip the update when a gradient was inf or NaN
 *     optimizer.step();
 * }
 * scaler.update();                    // back off or grow the scale; allows the next unscale
 * }</pre>
 * Clipping before {@code unscale} is the classic bug: it clips the scaled gradients, so a threshold of 1.0
 * acts as 1.0 / 65536 on the real ones. With gradient accumulation, unscale and clip once, after the last
 * micro-batch.
 *
 * <p>bfloat16 needs no scaler: it has float32's exponent range, so its gradients do not underflow; use
 * {@code enabled = false} (then every method is a pass-through and {@link #shouldStep()} is true).
 *
 * <p>The scale is a float32 value, as PyTorch keeps it, and it never grows to infinity. {@link #stateDict()}
 * holds the scale, the growth tracker and the configuration under PyTorch's keys; it is taken between steps
 * (after {@link #update()}). Not thread-safe.
 */
public final class GradScaler implements Stateful {
    /**
     * The floor of the scale, 2^-24 (float16's smallest subnormal): PyTorch has none, so gradients that stay
     * infinite whatever the scale halve it down to 0, after which every gradient is 0 and training goes on
     * silently without learning. Here the scale stops at the floor, and an overflow there is no longer a
     * calibration but a divergence ({@link #atFloor()}).
     */
    public static final float MIN_SCALE = 0x1p-24f;

    private float scale;
    private double growthFactor;
    private double backoffFactor;
    private int growthInterval;
    private final boolean enabled;
    private int growthTracker;
    private boolean unscaled;
    private boolean foundInf;

    /**
     * A scaler.
     *
     * @param initScale the first scale, PyTorch's default 2^16
     * @param growthFactor multiplies the scale after {@code growthInterval} finite steps in a row, &gt; 1
     * @param backoffFactor multiplies the scale after a step with an inf or NaN gradient, in (0, 1)
     * @param growthInterval finite steps in a row before the scale grows, &gt;= 1
     * @param enabled false turns every method into a pass-through (for float32 or bfloat16 training)
     * @throws IllegalArgumentException naming the first value out of range
     */
    public GradScaler(double initScale, double growthFactor, double backoffFactor, int growthInterval, boolean enabled) {
        if (!(initScale > 0) || !Float.isFinite((float) initScale)) {
            throw new IllegalArgumentException("initScale must be a finite float32 value > 0, got " + initScale);
        }
        if (!(growthFactor > 1.0)) {
            throw new IllegalArgumentException("growthFactor must be > 1.0, got " + growthFactor);
        }
        if (!(backoffFactor > 0 && backoffFactor < 1.0)) {
            throw new IllegalArgumentException("backoffFactor must be in (0, 1), got " + backoffFactor);
        }
        if (growthInterval < 1) {
            throw new IllegalArgumentException("growthInterval must be at least 1, got " + growthInterval);
        }
        this.scale = (float) initScale;
        this.growthFactor = growthFactor;
        this.backoffFactor = backoffFactor;
        this.growthInterval = growthInterval;
        this.enabled = enabled;
    }

    /** PyTorch's defaults: init scale 2^16, growth 2.0, backoff 0.5, growth interval 2000, enabled. */
    public static GradScaler withDefaults() {
        return new GradScaler(65536.0, 2.0, 0.5, 2000, true);
    }

    /** A pass-through scaler, for float32 and bfloat16 training. */
    public static GradScaler disabled() {
        return new GradScaler(1.0, 2.0, 0.5, 1, false);
    }

    public boolean enabled() {
        return enabled;
    }

    /** The current scale (1.0 when disabled). */
    public double scale() {
        return enabled ? scale : 1.0;
    }

    /** Finite steps in a row since the scale last changed. */
    public int growthTracker() {
        return growthTracker;
    }

    /**
     * The loss times the scale, to call {@code backward()} on; the loss itself when disabled.
     *
     * @return a new tensor in the autograd graph
     */
    public Tensor scale(Tensor loss) {
        if (!enabled) {
            return loss;
        }
        return loss.mul(new Scalar(scale));
    }

    /**
     * Divides every defined gradient by the scale, in place (multiplying by the float32 reciprocal, as PyTorch
     * does, which is exact for power-of-two scales), and records whether any scaled gradient held an
     * infinity or NaN. Call it once per step, after the last {@code backward()} and before clipping. Each
     * gradient tensor is changed in place, never replaced, so gradients bound as views into a flat buffer
     * stay bound.
     *
     * @param parameters the parameters whose {@code grad()} to unscale; those without a gradient are skipped
     * @return true when an inf or NaN was found (the step should be skipped); false when disabled
     * @throws IllegalStateException if it was already called since the last {@link #update()}
     */
    public boolean unscale(Iterable<Tensor> parameters) {
        return unscale(parameters, UnaryOperator.identity());
    }

    /**
     * {@link #unscale(Iterable)} in data-parallel training: {@code agree} combines this process's finding with
     * the other ranks' (e.g. {@code DataParallel::anyTrue}), so that every rank skips the same steps and keeps
     * the same scale, as PyTorch's {@code ShardedGradScaler} all-reduces its {@code found_inf}. Not called when
     * disabled.
     *
     * @param agree from this rank's "inf or NaN found" to the answer every rank acts on
     * @return the agreed answer
     * @throws IllegalStateException if it was already called since the last {@link #update()}
     */
    public boolean unscale(Iterable<Tensor> parameters, UnaryOperator<Boolean> agree) {
        if (!enabled) {
            return false;
        }
        List<Tensor> gradients = new ArrayList<>();
        for (Tensor p : parameters) {
            Tensor g = p.grad();
            if (g.defined()) {
                gradients.add(g);
            }
        }
        return unscaleGradients(gradients, agree);
    }

    /** {@link #unscaleGradients(Iterable, UnaryOperator)} where every rank holds the same gradients (or one process). */
    public boolean unscaleGradients(Iterable<Tensor> gradients) {
        return unscaleGradients(gradients, UnaryOperator.identity());
    }

    /**
     * {@link #unscale(Iterable, UnaryOperator)} on gradient tensors themselves, e.g. the flat tensors of a
     * {@code GradBuffer} that every gradient is a view into: one check and one multiply per flat tensor
     * instead of per parameter.
     *
     * @param gradients the tensors to divide by the scale in place; undefined ones are skipped
     */
    public boolean unscaleGradients(Iterable<Tensor> gradients, UnaryOperator<Boolean> agree) {
        if (!enabled) {
            return false;
        }
        if (unscaled) {
            throw new IllegalStateException("unscale() has already been called since the last update()");
        }
        Torch.load();
        float inverse = (float) (1.0 / scale);
        boolean inf;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            // one flag for all the gradients, read back once: a single host sync on a GPU, as in PyTorch
            Tensor allFinite = null;
            for (Tensor g : gradients) {
                if (!g.defined()) {
                    continue;
                }
                Tensor finite = torch.isfinite(g).all();
                allFinite = allFinite == null ? finite
                        : allFinite.logical_and(finite.to(allFinite.device(), finite.scalar_type()));
                g.mul_(new Scalar(inverse));
            }
            inf = allFinite != null && !allFinite.item_bool();
        }
        unscaled = true;
        foundInf = agree.apply(inf);
        return foundInf;
    }

    /**
     * Whether the scale is at {@link #MIN_SCALE}: an overflow now is the gradients' own, not the scale's, and
     * the trainer counts it as a non-finite step.
     */
    public boolean atFloor() {
        return enabled && scale <= MIN_SCALE;
    }

    /**
     * Whether the optimizer may step: false when {@link #unscale} found an inf or NaN. Always true when
     * disabled.
     *
     * @throws IllegalStateException if {@link #unscale} was not called this step
     */
    public boolean shouldStep() {
        if (!enabled) {
            return true;
        }
        requireUnscaled("shouldStep()");
        return !foundInf;
    }

    /**
     * The scale {@link #update()} is about to set, given what {@link #unscale} found: lowered by the backoff
     * factor after an inf or NaN, grown by the growth factor when this step completes a growth interval
     * (unless that would overflow float32), else unchanged. 1.0 when disabled.
     *
     * @throws IllegalStateException if {@link #unscale} was not called this step
     */
    public double nextScale() {
        if (!enabled) {
            return 1.0;
        }
        requireUnscaled("nextScale()");
        if (foundInf) {
            return Math.max((float) (scale * backoffFactor), MIN_SCALE);
        }
        if (growthTracker + 1 == growthInterval) {
            float grown = (float) (scale * growthFactor);
            return Float.isFinite(grown) ? grown : scale;
        }
        return scale;
    }

    /**
     * Adapts the scale, as PyTorch's {@code _amp_update_scale_}: after an inf or NaN the scale is multiplied by
     * the backoff factor and the tracker reset; otherwise the tracker counts up, and when it reaches the
     * growth interval the scale is multiplied by the growth factor (unless that would overflow float32) and
     * the tracker reset. The new scale is {@link #nextScale()}. Ends the step: {@link #unscale} may be called
     * again.
     *
     * @throws IllegalStateException if {@link #unscale} was not called this step
     */
    public void update() {
        if (!enabled) {
            return;
        }
        requireUnscaled("update()");
        boolean intervalEnds = foundInf || growthTracker + 1 == growthInterval;
        scale = (float) nextScale();
        growthTracker = intervalEnds ? 0 : growthTracker + 1;
        unscaled = false;
        foundInf = false;
    }

    private void requireUnscaled(String method) {
        if (!unscaled) {
            throw new IllegalStateException("no inf checks were recorded: call unscale(parameters) before " + method);
        }
    }

    /** PyTorch's keys: scale, growth_factor, backoff_factor, growth_interval, _growth_tracker; empty when disabled. */
    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (!enabled) {
            return m;
        }
        m.put("scale", (double) scale);
        m.put("growth_factor", growthFactor);
        m.put("backoff_factor", backoffFactor);
        m.put("growth_interval", growthInterval);
        m.put("_growth_tracker", growthTracker);
        return m;
    }

    /**
     * @throws IllegalArgumentException if the map is empty (saved from a disabled scaler) or misses a key
     * @throws IllegalStateException if this scaler is disabled
     */
    @Override
    public void loadStateDict(Map<String, Object> state) {
        if (!enabled) {
            throw new IllegalStateException("cannot load state into a disabled GradScaler");
        }
        if (state.isEmpty()) {
            throw new IllegalArgumentException("the state is empty, possibly because it was saved from a disabled GradScaler");
        }
        scale = (float) StateMaps.getDouble(state, "scale");
        growthFactor = StateMaps.getDouble(state, "growth_factor");
        backoffFactor = StateMaps.getDouble(state, "backoff_factor");
        growthInterval = StateMaps.getInt(state, "growth_interval");
        growthTracker = StateMaps.getInt(state, "_growth_tracker");
        unscaled = false;
        foundInf = false;
    }
}
