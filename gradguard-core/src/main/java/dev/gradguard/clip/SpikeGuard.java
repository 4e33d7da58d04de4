package dev.gradguard.clip;

import dev.gradguard.model.Parameters;
import dev.gradguard.state.StateMaps;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Asks to skip the optimizer step when the gradient norm (or the loss) spikes: when the value {@code v}
 * is more than {@code k} standard deviations above the mean of a rolling window of earlier values,
 * {@code v - mean > k * std}, the rule of OLMo-core's {@code SkipStepOptimizer}. The gradients are never
 * changed; the guard honours the request.
 *
 * <p>As in OLMo-core: the window holds the last {@code window} earlier values (default 128, OLMo-core's
 * {@code rolling_interval_length}); {@code std} is the sample standard deviation (divided by N - 1, as
 * {@code torch.std_mean}); {@code k} defaults to 6 ({@code sigma_factor}); a window whose values are all
 * equal has {@code std = 0}, so any larger value is a spike. Where this differs from OLMo-core
 * ({@code src/olmo_core/optim/skip_step_optimizer.py}, {@code get_step_factor}, at commit a14de852):
 * <ul>
 *   <li><b>The minimum count.</b> OLMo-core judges once its list holds {@code max(20, window / 2)} values
 *       counting the current one (63 earlier values for a window of 128, and never for a window under 19,
 *       whose list stops at {@code window + 1}). Here {@code minSamples} counts earlier values only, and
 *       defaults to {@code max(2, window / 2)}: 64 for a window of 128, one step later than OLMo-core.</li>
 *   <li><b>Skipped values.</b> OLMo-core appends every value, skipped or not. Here a value that is skipped
 *       does not enter the window, so one spike does not widen the band that judges the next.</li>
 *   <li><b>NaN and infinity.</b> OLMo-core appends them too: the comparison with a NaN value is false, so
 *       that step is skipped, and while the value is in the window its mean and std are NaN, so every step
 *       for the next {@code window} steps is skipped. Here a non-finite value neither enters the window nor
 *       is judged (the guard skips non-finite steps on its own), and later steps are judged as before.</li>
 *   <li><b>One signal per transform.</b> OLMo-core judges the loss and the grad norm together and skips
 *       when either spikes; here {@code spike} and {@code loss-spike} are two transforms (chain both for
 *       OLMo-core's pair).</li>
 * </ul>
 *
 * <p>The grad-norm variant judges the 2-norm of the gradients as they reach it (put it first in the chain
 * to judge the pre-clip norm); the loss variant judges the step's training loss. Transforms after it in
 * the chain still run on a step it asks to skip. State: the window, oldest first.
 *
 * <p>References: OLMo Team, "2 OLMo 2 Furious", arXiv:2501.00656, 2025 (OLMo-core's skip-step optimizer);
 * Chowdhery et al., "PaLM: Scaling Language Modeling with Pathways", JMLR 2023 (skipping spiking batches).
 */
public final class SpikeGuard implements GradientTransform {
    /** OLMo-core's {@code sigma_factor}. */
    public static final double DEFAULT_K = 6.0;
    /** OLMo-core's {@code rolling_interval_length}. */
    public static final int DEFAULT_WINDOW = 128;

    /** What the guard watches. */
    public enum Signal {
        /** The gradients' 2-norm as it reaches the guard; the guard's name is {@code spike}. */
        GRAD_NORM("spike", "grad norm"),
        /** The step's training loss; the guard's name is {@code loss-spike}. */
        LOSS("loss-spike", "loss");

        private final String guardName;
        private final String description;

        Signal(String guardName, String description) {
            this.guardName = guardName;
            this.description = description;
        }
    }

    private final Signal signal;
    private final double k;
    private final int window;
    private final int minSamples;
    private final ArrayDeque<Double> values = new ArrayDeque<>();

    /** A guard on {@code signal} with OLMo-core's window (128) and 64 earlier values before it judges. */
    public SpikeGuard(Signal signal, double k) {
        this(signal, k, DEFAULT_WINDOW, defaultMinSamples(DEFAULT_WINDOW));
    }

    /**
     * @param signal what to watch
     * @param k how many standard deviations above the mean make a spike, finite and {@code > 0}
     * @param window how many earlier values the mean and std are taken over, {@code >= 2}
     * @param minSamples how many values the window must hold before anything is skipped, in
     *     {@code [2, window]}
     * @throws IllegalArgumentException naming the bad argument
     */
    public SpikeGuard(Signal signal, double k, int window, int minSamples) {
        this.signal = Objects.requireNonNull(signal, "signal");
        if (!(k > 0 && Double.isFinite(k))) {
            throw new IllegalArgumentException("k must be a finite number > 0, got " + k);
        }
        if (window < 2) {
            throw new IllegalArgumentException("window must be >= 2, got " + window);
        }
        if (minSamples < 2 || minSamples > window) {
            throw new IllegalArgumentException("minSamples must be in [2, window = " + window + "], got "
                    + minSamples);
        }
        this.k = k;
        this.window = window;
        this.minSamples = minSamples;
    }

    /**
     * {@code max(2, window / 2)} earlier values: OLMo-core's {@code window / 2}, counted without the current
     * value and without OLMo-core's floor of 20 (see the class documentation).
     */
    public static int defaultMinSamples(int window) {
        return Math.max(2, window / 2);
    }

    public Signal signal() {
        return signal;
    }

    public double k() {
        return k;
    }

    public int window() {
        return window;
    }

    public int minSamples() {
        return minSamples;
    }

    /** {@code spike} for the grad norm, {@code loss-spike} for the loss. */
    @Override
    public String name() {
        return signal.guardName;
    }

    /** {@code k}, {@code window} and {@code minSamples}; the signal is in the {@link #name()}. */
    @Override
    public Map<String, Object> config() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("k", k);
        config.put("window", window);
        config.put("minSamples", minSamples);
        return config;
    }

    @Override
    public TransformReport apply(Parameters parameters, GradientContext context) {
        double norm = context.gradNormValue();
        double v = signal == Signal.LOSS ? context.loss() : norm;
        if (!Double.isFinite(v)) {
            return TransformReport.unchanged(name(), norm);
        }
        if (values.size() >= minSamples) {
            double mean = 0;
            for (double x : values) {
                mean += x;
            }
            mean /= values.size();
            double squares = 0;
            for (double x : values) {
                squares += (x - mean) * (x - mean);
            }
            double std = Math.sqrt(squares / (values.size() - 1));
            if (v - mean > k * std) {
                String reason = String.format(Locale.ROOT, "%s %.6g is more than k = %s standard deviations above "
                        + "its rolling mean (mean %.6g, std %.6g, over the last %d values)", signal.description, v,
                        k, mean, std, values.size());
                return new TransformReport(name(), norm, norm, 1.0, false, Optional.of(reason));
            }
        }
        if (values.size() == window) {
            values.removeFirst();
        }
        values.addLast(v);
        return TransformReport.unchanged(name(), norm);
    }

    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("window", new ArrayList<>(values));
        return state;
    }

    @Override
    public void loadStateDict(Map<String, Object> state) {
        double[] saved = StateMaps.getDoubles(state, "window");
        if (saved.length > window) {
            throw new IllegalArgumentException("state key 'window' holds " + saved.length + " values but "
                    + name() + " keeps at most " + window);
        }
        values.clear();
        for (double v : saved) {
            values.addLast(v);
        }
    }
}
