package dev.gradguard.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.optim.ReduceLROnPlateau.Mode;
import dev.gradguard.optim.ReduceLROnPlateau.Options;
import dev.gradguard.optim.ReduceLROnPlateau.ThresholdMode;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * {@link ReduceLROnPlateau} against the behaviour of PyTorch's {@code torch.optim.lr_scheduler.ReduceLROnPlateau}
 * (its documentation and {@code step}, {@code is_better}, {@code _reduce_lr}), with every expected value
 * worked out by hand from scripted metric sequences.
 */
class ReduceLROnPlateauTest {

    @Test
    void defaultsArePyTorchs() {
        assertEquals(new Options(Mode.MIN, 0.1, 10, 1e-4, ThresholdMode.REL, 0, 0.0, 1e-8), Options.defaults());
        ReduceLROnPlateau p = new ReduceLROnPlateau(1.0, Options.defaults());
        assertEquals(Double.POSITIVE_INFINITY, p.best());
        assertEquals(Double.NEGATIVE_INFINITY, new ReduceLROnPlateau(1.0, Options.defaults().withMode(Mode.MAX)).best());
    }

    @Test
    void withPatienceTwoTheThirdBadEpochInARowReduces() {
        // epoch 1 improves on +inf (best 10); epochs 2, 3, 4 are bad: 1, 2, 3 > 2 reduces and resets to 0
        ReduceLROnPlateau p = new ReduceLROnPlateau(1.0, Options.defaults().withPatience(2));
        double[] metrics = {10, 11, 11, 11, 11, 11, 11};
        double[] lrs = new double[metrics.length];
        int[] bad = new int[metrics.length];
        for (int i = 0; i < metrics.length; i++) {
            p.step(metrics[i]);
            lrs[i] = p.lr();
            bad[i] = p.numBadEpochs();
        }
        assertArrayEquals(new double[] {1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.010000000000000002}, lrs);
        assertArrayEquals(new int[] {0, 1, 2, 0, 1, 2, 0}, bad);
        assertEquals(10.0, p.best());
        assertEquals(7, p.lastEpoch());
    }

    @Test
    void anImprovementResetsTheBadEpochCount() {
        ReduceLROnPlateau p = new ReduceLROnPlateau(1.0, Options.defaults().withPatience(2));
        for (double m : new double[] {10, 11, 11, 9, 11, 11}) {
            p.step(m);
        }
        assertEquals(1.0, p.lr());
        assertEquals(2, p.numBadEpochs());
        assertEquals(9.0, p.best());
    }

    @Test
    void relativeThresholdNeedsAnImprovementOfAFractionOfBest() {
        // min, rel 1e-4: better means a < best * 0.9999
        ReduceLROnPlateau rel = new ReduceLROnPlateau(1.0, Options.defaults());
        assertFalse(rel.isBetter(0.99999, 1.0)); // 1e-5 relative improvement
        assertTrue(rel.isBetter(0.99989, 1.0));
        assertFalse(rel.isBetter(999.95, 1000.0)); // 0.05 < 1000 * 1e-4
        assertTrue(rel.isBetter(0.0009, 0.001)); // 10% of a small best

        ReduceLROnPlateau p = new ReduceLROnPlateau(1.0, Options.defaults().withPatience(0));
        p.step(1.0);
        p.step(0.99999);
        assertEquals(1.0, p.best());
        assertEquals(0.1, p.lr());
    }

    @Test
    void absoluteThresholdNeedsAFixedMargin() {
        // min, abs 1e-4: better means a < best - 1e-4, whatever the scale
        ReduceLROnPlateau abs = new ReduceLROnPlateau(1.0, Options.defaults().withThreshold(1e-4, ThresholdMode.ABS));
        assertTrue(abs.isBetter(999.95, 1000.0));
        assertFalse(abs.isBetter(0.99995, 1.0));
        assertTrue(abs.isBetter(0.9998, 1.0));
        ReduceLROnPlateau abs2 = new ReduceLROnPlateau(1.0, Options.defaults().withThreshold(0.01, ThresholdMode.ABS));
        assertFalse(abs2.isBetter(0.0009, 0.001));

        ReduceLROnPlateau p = new ReduceLROnPlateau(1.0,
                Options.defaults().withPatience(0).withThreshold(1e-4, ThresholdMode.ABS));
        p.step(1000.0);
        p.step(999.95);
        assertEquals(999.95, p.best());
        assertEquals(1.0, p.lr());
    }

    @Test
    void maxModeWantsTheMetricToRise() {
        // max, rel 1e-4: better means a > best * 1.0001
        Options max = Options.defaults().withMode(Mode.MAX).withPatience(1);
        ReduceLROnPlateau p = new ReduceLROnPlateau(1.0, max);
        assertTrue(p.isBetter(0.50006, 0.5));
        assertFalse(p.isBetter(0.50004, 0.5));
        double[] lrs = new double[5];
        double[] metrics = {0.5, 0.6, 0.6, 0.55, 0.7};
        for (int i = 0; i < metrics.length; i++) {
            p.step(metrics[i]);
            lrs[i] = p.lr();
        }
        assertArrayEquals(new double[] {1.0, 1.0, 1.0, 0.1, 0.1}, lrs);
        assertEquals(0.7, p.best());

        ReduceLROnPlateau abs = new ReduceLROnPlateau(1.0, max.withThreshold(0.05, ThresholdMode.ABS));
        assertTrue(abs.isBetter(0.56, 0.5));
        assertFalse(abs.isBetter(0.55, 0.5));
    }

    @Test
    void cooldownForgetsBadEpochsUntilItEnds() {
        // patience 0, cooldown 2, factor 0.5. Epoch 2 reduces and starts the cooldown; epochs 3 and 4 are
        // bad but count the cooldown down to 0 and reset the bad count; epoch 5 reduces again.
        ReduceLROnPlateau p = new ReduceLROnPlateau(1.0,
                Options.defaults().withPatience(0).withCooldown(2).withFactor(0.5));
        double[] metrics = {1, 2, 2, 2, 2, 2, 0.5};
        double[] lrs = new double[metrics.length];
        int[] cooldown = new int[metrics.length];
        int[] bad = new int[metrics.length];
        for (int i = 0; i < metrics.length; i++) {
            p.step(metrics[i]);
            lrs[i] = p.lr();
            cooldown[i] = p.cooldownCounter();
            bad[i] = p.numBadEpochs();
        }
        assertArrayEquals(new double[] {1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25}, lrs);
        assertArrayEquals(new int[] {0, 2, 1, 0, 2, 1, 0}, cooldown);
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 0, 0}, bad);
        assertEquals(0.5, p.best());

        // the same metrics without cooldown reduce on every bad epoch
        ReduceLROnPlateau noCooldown = new ReduceLROnPlateau(1.0, Options.defaults().withPatience(0).withFactor(0.5));
        for (int i = 0; i < 5; i++) {
            noCooldown.step(metrics[i]);
        }
        assertEquals(0.0625, noCooldown.lr());
    }

    @Test
    void minLrIsAFloor() {
        // factor 0.1, min_lr 0.05: 1.0 -> max(0.1, 0.05) = 0.1 -> max(0.01, 0.05) = 0.05 -> stays 0.05
        ReduceLROnPlateau p = new ReduceLROnPlateau(1.0, Options.defaults().withPatience(0).withMinLr(0.05));
        double[] lrs = new double[5];
        double[] metrics = {1, 2, 2, 2, 2};
        for (int i = 0; i < metrics.length; i++) {
            p.step(metrics[i]);
            lrs[i] = p.lr();
        }
        assertArrayEquals(new double[] {1.0, 0.1, 0.05, 0.05, 0.05}, lrs);
    }

    @Test
    void epsSuppressesTinyReductionsButStillResetsTheCounters() {
        // 1e-7 * 0.5 lowers the rate by 5e-8: skipped with eps 1e-7, applied with the default 1e-8
        ReduceLROnPlateau big = new ReduceLROnPlateau(1e-7,
                Options.defaults().withPatience(0).withFactor(0.5).withEps(1e-7).withCooldown(3));
        big.step(1);
        big.step(2);
        assertEquals(1e-7, big.lr());
        assertEquals(3, big.cooldownCounter());
        assertEquals(0, big.numBadEpochs());

        ReduceLROnPlateau small = new ReduceLROnPlateau(1e-7, Options.defaults().withPatience(0).withFactor(0.5));
        small.step(1);
        small.step(2);
        assertEquals(5e-8, small.lr());
    }

    @Test
    void nanIsNeverAnImprovement() {
        ReduceLROnPlateau p = new ReduceLROnPlateau(1.0, Options.defaults().withPatience(1));
        p.step(Double.NaN);
        assertEquals(Double.POSITIVE_INFINITY, p.best());
        assertEquals(1, p.numBadEpochs());
        p.step(Double.NaN);
        assertEquals(0.1, p.lr());
    }

    @Test
    void restoredSchedulerBehavesIdentically() throws Exception {
        Options options = Options.defaults().withPatience(1).withCooldown(1).withFactor(0.5);
        double[] metrics = {3, 2, 2.5, 2.6, 2.7, 1.9, 2.0, 2.1, 2.2, 2.3, 2.4, 2.5};
        for (int cut = 0; cut < metrics.length; cut++) {
            ReduceLROnPlateau original = new ReduceLROnPlateau(0.8, options);
            for (int i = 0; i < cut; i++) {
                original.step(metrics[i]);
            }
            Map<String, Object> saved = SchedulesTest.throughJson(original.stateDict());
            ReduceLROnPlateau restored = new ReduceLROnPlateau(0.8, options);
            restored.loadStateDict(saved);
            for (int i = cut; i < metrics.length; i++) {
                original.step(metrics[i]);
                restored.step(metrics[i]);
                assertEquals(original.stateDict(), restored.stateDict(), "cut " + cut + ", epoch " + i);
            }
        }
        // the run itself: reductions at epochs 4, 8 and 11 (counting from 1)
        ReduceLROnPlateau run = new ReduceLROnPlateau(0.8, options);
        for (double m : metrics) {
            run.step(m);
        }
        assertEquals(0.1, run.lr());
        assertEquals(1.9, run.best());
    }

    @Test
    void stateHoldsTheCountersByPyTorchsNames() {
        ReduceLROnPlateau p = new ReduceLROnPlateau(1.0, Options.defaults());
        assertEquals(Map.of("lr", 1.0, "best", "Infinity", "num_bad_epochs", 0, "cooldown_counter", 0,
                "last_epoch", 0L), p.stateDict());
    }

    @Test
    void invalidOptionsAreRejectedWithPyTorchsMessages() {
        Options d = Options.defaults();
        assertMessage("factor should be < 1.0, got 1.0", () -> d.withFactor(1.0));
        assertMessage("factor should be >= 0, got -0.5", () -> d.withFactor(-0.5));
        assertMessage("patience should be >= 0, got -1", () -> d.withPatience(-1));
        assertMessage("threshold should be finite and >= 0, got -1.0E-4", () -> d.withThreshold(-1e-4, ThresholdMode.REL));
        assertMessage("cooldown should be >= 0, got -2", () -> d.withCooldown(-2));
        assertMessage("minLr should be finite and >= 0, got -1.0", () -> d.withMinLr(-1));
        assertMessage("eps should be finite and >= 0, got NaN", () -> d.withEps(Double.NaN));
        assertMessage("initial lr must be finite and > 0, got 0.0", () -> new ReduceLROnPlateau(0, d));
    }

    private static void assertMessage(String expected, Executable call) {
        assertEquals(expected, assertThrows(IllegalArgumentException.class, call).getMessage());
    }
}
