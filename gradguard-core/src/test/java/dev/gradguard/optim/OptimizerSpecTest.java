package dev.gradguard.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class OptimizerSpecTest {

    @Test
    void defaultsMatchPyTorch() {
        OptimizerSpec sgd = OptimizerSpec.defaults("sgd", 0.1);
        assertEquals(0.1, sgd.lr());
        assertEquals(0.0, sgd.momentum());
        assertFalse(sgd.nesterov());
        assertEquals(0.0, sgd.weightDecay());

        OptimizerSpec adam = OptimizerSpec.defaults("adam", 1e-3);
        assertEquals(0.9, adam.beta1());
        assertEquals(0.999, adam.beta2());
        assertEquals(1e-8, adam.eps());
        assertEquals(0.0, adam.weightDecay());

        OptimizerSpec adamw = OptimizerSpec.defaults("adamw", 1e-3);
        assertEquals(0.9, adamw.beta1());
        assertEquals(0.999, adamw.beta2());
        assertEquals(1e-8, adamw.eps());
        assertEquals(1e-2, adamw.weightDecay());
    }

    @Test
    void withMethodsChangeOneField() {
        OptimizerSpec s = OptimizerSpec.defaults("sgd", 0.1).withMomentum(0.9).withNesterov(true)
                .withWeightDecay(5e-4).withLr(0.2);
        assertEquals(new OptimizerSpec("sgd", 0.2, 0.9, 0, true, 5e-4, 0.9, 0.999, 1e-8), s);
        assertEquals(0.3, OptimizerSpec.sgd(0.1).withMomentum(0.9).withDampening(0.3).dampening());
        OptimizerSpec a = OptimizerSpec.defaults("adam", 1e-3).withBetas(0.8, 0.95).withEps(1e-6);
        assertEquals(new OptimizerSpec("adam", 1e-3, 0, 0, false, 0, 0.8, 0.95, 1e-6), a);
    }

    @Test
    void unknownNameListsTheAllowedNames() {
        assertMessage("optimizer name must be one of sgd, adam, adamw, got 'rmsprop'",
                () -> OptimizerSpec.defaults("rmsprop", 0.1));
    }

    @Test
    void lrMustBeFiniteAndPositive() {
        assertMessage("lr must be finite and > 0, got 0.0", () -> OptimizerSpec.defaults("sgd", 0));
        assertMessage("lr must be finite and > 0, got -0.1", () -> OptimizerSpec.defaults("adam", -0.1));
        assertMessage("lr must be finite and > 0, got NaN", () -> OptimizerSpec.defaults("adam", Double.NaN));
        assertMessage("lr must be finite and > 0, got Infinity",
                () -> OptimizerSpec.defaults("adamw", Double.POSITIVE_INFINITY));
    }

    @Test
    void momentumMustBeInUnitInterval() {
        OptimizerSpec sgd = OptimizerSpec.defaults("sgd", 0.1);
        assertMessage("momentum must be in [0, 1), got 1.0", () -> sgd.withMomentum(1.0));
        assertMessage("momentum must be in [0, 1), got -0.5", () -> sgd.withMomentum(-0.5));
    }

    @Test
    void nesterovNeedsMomentum() {
        assertMessage("nesterov requires momentum > 0 and dampening 0, got momentum 0.0, dampening 0.0",
                () -> OptimizerSpec.defaults("sgd", 0.1).withNesterov(true));
    }

    @Test
    void momentumIsRejectedForAdam() {
        assertMessage("momentum, dampening and nesterov apply to sgd only (adam uses beta1), got momentum 0.9, "
                + "dampening 0.0, nesterov false",
                () -> OptimizerSpec.defaults("adam", 1e-3).withMomentum(0.9));
    }

    @Test
    void betasEpsAndWeightDecayAreChecked() {
        OptimizerSpec adam = OptimizerSpec.defaults("adam", 1e-3);
        assertMessage("beta1 must be in [0, 1), got 1.0", () -> adam.withBetas(1.0, 0.999));
        assertMessage("beta2 must be in [0, 1), got -0.1", () -> adam.withBetas(0.9, -0.1));
        assertMessage("eps must be finite and >= 0, got -1.0E-8", () -> adam.withEps(-1e-8));
        assertEquals(0.0, adam.withEps(0).eps(), "PyTorch allows eps 0");
        assertMessage("weightDecay must be finite and >= 0, got -0.01", () -> adam.withWeightDecay(-0.01));
        assertMessage("weightDecay must be finite and >= 0, got NaN", () -> adam.withWeightDecay(Double.NaN));
    }

    private static void assertMessage(String expected, Executable call) {
        assertEquals(expected, assertThrows(IllegalArgumentException.class, call).getMessage());
    }
}
