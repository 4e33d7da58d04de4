package dev.gradguard.train;

import dev.gradguard.model.Parameters;
import java.util.Set;
import java.util.TreeSet;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * A fault-injection aid: at the chosen steps it fills every gradient with NaN right after backward,
 * so anyone can watch the guard skip those steps and keep the weights finite.
 */
public final class NonFiniteInjection {
    private final Set<Long> steps;

    private NonFiniteInjection(Set<Long> steps) {
        this.steps = Set.copyOf(steps);
    }

    /** Injects nothing. */
    public static NonFiniteInjection none() {
        return new NonFiniteInjection(Set.of());
    }

    /** Poisons the gradients at the given 0-based steps. */
    public static NonFiniteInjection atSteps(Set<Long> steps) {
        for (long s : steps) {
            if (s < 0) {
                throw new IllegalArgumentException("inject-nonfinite steps must be >= 0, got " + s);
            }
        }
        return new NonFiniteInjection(steps);
    }

    /** The steps, in order. */
    public Set<Long> steps() {
        return new TreeSet<>(steps);
    }

    /** Fills every defined gradient with NaN when {@code step} is one of the chosen steps. */
    public void afterBackward(long step, Parameters parameters) {
        if (!steps.contains(step)) {
            return;
        }
        for (Tensor p : parameters) {
            Tensor g = p.grad();
            if (g.defined()) {
                g.fill_(new Scalar(Double.NaN));
            }
        }
    }
}
