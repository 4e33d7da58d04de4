package dev.gradguard.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.util.BitSet;
import java.util.List;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * libtorch's optimizers, as {@link Optimizers} configures them, against PyTorch's documented update rules
 * (the pseudo-code in the docs of {@code torch.optim.SGD}, {@code Adam} and {@code AdamW}) written out in
 * Java. Parameters are float64 so the comparison can be tight.
 */
class OptimizersTest {
    private static final double TOL = 1e-13;
    private static final double[] START = {1.0, -2.0, 0.5};
    private static final double[][] GRADS = {{0.5, 0.25, -1.0}, {-0.3, 0.1, 2.0}, {0.05, -0.4, 0.7}};

    @BeforeAll
    static void loadTorch() {
        Torch.load();
    }

    @Test
    void sgdFirstStepWorkedByHand() {
        // d = g + wd*p = [0.51, 0.23, -0.995]; buf = d; nesterov: d + 0.9*buf = 1.9*d; p -= 0.1 * 1.9 * d
        double[] after = run(OptimizerSpec.defaults("sgd", 0.1).withMomentum(0.9).withNesterov(true)
                .withWeightDecay(0.01), 1);
        assertArrayEquals(new double[] {0.9031, -2.0437, 0.68905}, after, TOL);
    }

    @Test
    void sgdWithNesterovMomentumAndWeightDecayFollowsPyTorchRule() {
        OptimizerSpec spec = OptimizerSpec.defaults("sgd", 0.1).withMomentum(0.9).withNesterov(true)
                .withWeightDecay(0.01);
        assertArrayEquals(referenceSgd(spec, 3), run(spec, 3), TOL);
    }

    @Test
    void sgdWithPlainMomentumFollowsPyTorchRule() {
        OptimizerSpec spec = OptimizerSpec.defaults("sgd", 0.05).withMomentum(0.5);
        assertArrayEquals(referenceSgd(spec, 3), run(spec, 3), TOL);
    }

    @Test
    void adamFirstStepWorkedByHand() {
        // bias correction makes the first step lr * g / (|g| + eps) with g the raw gradient
        double[] after = run(OptimizerSpec.defaults("adam", 0.01).withEps(1e-6), 1);
        assertArrayEquals(new double[] {1 - 0.01 * 0.5 / 0.500001, -2 - 0.01 * 0.25 / 0.250001,
            0.5 + 0.01 * 1.0 / 1.000001}, after, TOL);
    }

    @Test
    void adamWithL2WeightDecayFollowsPyTorchRule() {
        // distinct betas catch a swapped beta1/beta2
        OptimizerSpec spec = OptimizerSpec.defaults("adam", 0.01).withBetas(0.8, 0.95).withEps(1e-6)
                .withWeightDecay(0.1);
        assertArrayEquals(referenceAdam(spec, 3, false), run(spec, 3), TOL);
    }

    @Test
    void adamWWithDecoupledWeightDecayFollowsPyTorchRule() {
        OptimizerSpec spec = OptimizerSpec.defaults("adamw", 0.01).withBetas(0.7, 0.9).withEps(1e-6)
                .withWeightDecay(0.5);
        double[] expected = referenceAdam(spec, 3, true);
        assertArrayEquals(expected, run(spec, 3), TOL);
        // decoupled decay differs from the L2 form with the same coefficient
        double[] coupled = referenceAdam(spec, 3, false);
        assertTrue(Math.abs(expected[0] - coupled[0]) > 1e-4);
    }

    @Test
    void setLrChangesTheNextStepOfEveryOptimizer() {
        for (String name : OptimizerSpec.NAMES) {
            Tensor p = Tensors.fromDoubles(START.clone(), START.length).requires_grad_(true);
            Optimizer opt = Optimizers.libtorch(OptimizerSpec.defaults(name, 0.1).withWeightDecay(0), params(p));
            assertEquals(0.1, Optimizers.lr(opt), name);
            Optimizers.setLr(opt, 0.02);
            assertEquals(0.02, Optimizers.lr(opt), name);
            p.mutable_grad().put(Tensors.fromDoubles(GRADS[0], 3));
            opt.step();
            // SGD moves by lr * g; Adam's and AdamW's first step by lr * g / (|g| + eps)
            double[] expected = name.equals("sgd")
                    ? new double[] {1 - 0.02 * 0.5, -2 - 0.02 * 0.25, 0.5 + 0.02 * 1.0}
                    : new double[] {1 - 0.02, -2 - 0.02, 0.5 + 0.02};
            assertArrayEquals(expected, Tensors.toDoubles(p), 1e-9, name);
        }
    }

    @Test
    void setLrRejectsNegativeAndNonFiniteRates() {
        Tensor p = Tensors.fromDoubles(START.clone(), START.length).requires_grad_(true);
        Optimizer opt = Optimizers.libtorch(OptimizerSpec.defaults("sgd", 0.1), params(p));
        assertEquals("lr must be finite and >= 0, got -1.0",
                assertThrows(IllegalArgumentException.class, () -> Optimizers.setLr(opt, -1)).getMessage());
        assertEquals("lr must be finite and >= 0, got NaN",
                assertThrows(IllegalArgumentException.class, () -> Optimizers.setLr(opt, Double.NaN)).getMessage());
        Optimizers.setLr(opt, 0);
        assertEquals(0.0, Optimizers.lr(opt));
    }

    /** Runs {@code steps} steps of gradguard's optimizer that {@code spec} describes, feeding {@link #GRADS}. */
    private static double[] run(OptimizerSpec spec, int steps) {
        Tensor p = Tensors.fromDoubles(START.clone(), START.length).requires_grad_(true);
        FusedOptimizer opt = Optimizers.create(spec, params(p));
        for (int t = 0; t < steps; t++) {
            p.mutable_grad().put(Tensors.fromDoubles(GRADS[t], 3));
            opt.step(spec.lr(), new BitSet());
        }
        return Tensors.toDoubles(p);
    }

    private static Parameters params(Tensor p) {
        return Parameters.of(List.of("w"), List.of(p));
    }

    /** torch.optim.SGD with dampening 0. */
    private static double[] referenceSgd(OptimizerSpec s, int steps) {
        double[] p = START.clone();
        double[] buf = new double[p.length];
        for (int t = 0; t < steps; t++) {
            for (int i = 0; i < p.length; i++) {
                double d = GRADS[t][i] + s.weightDecay() * p[i];
                if (s.momentum() != 0) {
                    buf[i] = t == 0 ? d : s.momentum() * buf[i] + d;
                    d = s.nesterov() ? d + s.momentum() * buf[i] : buf[i];
                }
                p[i] -= s.lr() * d;
            }
        }
        return p;
    }

    /** torch.optim.Adam (decoupled = false) or AdamW (decoupled = true), without AMSGrad. */
    private static double[] referenceAdam(OptimizerSpec s, int steps, boolean decoupled) {
        double[] p = START.clone();
        double[] m = new double[p.length];
        double[] v = new double[p.length];
        for (int t = 1; t <= steps; t++) {
            double bc1 = 1 - Math.pow(s.beta1(), t);
            double bc2 = 1 - Math.pow(s.beta2(), t);
            for (int i = 0; i < p.length; i++) {
                double g = GRADS[t - 1][i];
                if (decoupled) {
                    p[i] *= 1 - s.lr() * s.weightDecay();
                } else {
                    g += s.weightDecay() * p[i];
                }
                m[i] = s.beta1() * m[i] + (1 - s.beta1()) * g;
                v[i] = s.beta2() * v[i] + (1 - s.beta2()) * g * g;
                double mHat = m[i] / bc1;
                double vHat = v[i] / bc2;
                p[i] -= s.lr() * mHat / (Math.sqrt(vHat) + s.eps());
            }
        }
        return p;
    }
}
