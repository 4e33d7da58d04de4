package dev.gradguard.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.amp.Autocast;
import dev.gradguard.amp.GradScaler;
import dev.gradguard.amp.Precision;
import dev.gradguard.clip.Clip;
import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.engine.Torch;
import dev.gradguard.guard.NonFiniteGuard;
import dev.gradguard.guard.SkipReason;
import dev.gradguard.metrics.Json;
import dev.gradguard.model.Parameters;
import dev.gradguard.optim.OptimizerSpec;
import dev.gradguard.optim.Optimizers;
import dev.gradguard.optim.Schedules;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MixedPrecisionTrainingTest {
    private static final double TWO_POW_40 = 1099511627776.0;

    @BeforeAll
    static void load() {
        Torch.load();
        Torch.setThreads(1);
    }

    private static Trainer.Builder builder(long seed, String optimizer, double lr, BatchSource data, List<StepResult> sink) {
        torch.manual_seed(seed);
        TinyRegression.Net net = new TinyRegression.Net();
        Trainer.Builder b = Trainer.builder()
                .model(net)
                .data(data)
                .loss(TinyRegression::mse)
                .optimizer(Optimizers.create(OptimizerSpec.defaults(optimizer, lr), Parameters.of(net)))
                .schedule(Schedules.constant(lr));
        if (sink != null) {
            b.listener(new TrainingListener() {
                @Override
                public void onStep(StepResult result) {
                    sink.add(result);
                }
            });
        }
        return b;
    }

    private static Trainer.Builder builder(long seed, String optimizer, double lr, List<StepResult> sink) {
        return builder(seed, optimizer, lr, new TinyRegression.Data(seed, 16), sink);
    }

    @Test
    void bf16TrainsWithFloat32WeightsAndLowersTheLoss() {
        List<StepResult> fp32 = new ArrayList<>();
        builder(1, "adam", 0.05, fp32).pipeline(Clip.chain(Clip.norm(1.0))).build().step();
        List<StepResult> steps = new ArrayList<>();
        Trainer t = builder(1, "adam", 0.05, steps).pipeline(Clip.chain(Clip.norm(1.0)))
                .precision(Precision.BF16).build();
        TrainingOutcome outcome = t.run(300);

        assertTrue(outcome.completed());
        assertEquals(0, outcome.skippedSteps());
        double first = steps.subList(0, 10).stream().mapToDouble(StepResult::loss).average().orElseThrow();
        assertTrue(outcome.finalLoss() < first / 10, "loss " + first + " -> " + outcome.finalLoss());
        for (Tensor p : t.parameters()) {
            assertEquals(ScalarType.Float, p.scalar_type().intern());
            assertEquals(ScalarType.Float, p.grad().scalar_type().intern());
        }
        assertTrue(t.parameters().allFinite());
        // the forward pass really ran in bfloat16: its loss is close to float32's, but not equal
        double loss32 = fp32.get(0).loss();
        double loss16 = steps.get(0).loss();
        assertNotEquals(loss32, loss16);
        assertEquals(loss32, loss16, 0.02 * loss32);
        assertTrue(steps.get(0).diagnostics().lossScale().isEmpty(), "bf16 needs no loss scale");
        assertFalse(torch.is_autocast_enabled(DeviceType.CPU), "autocast is off again after each step");
    }

    @Test
    void weightsUpdatedByAStepAreSeenByTheNextForwardPass() {
        Batch batch = new TinyRegression.Data(2, 16).next();
        List<StepResult> steps = new ArrayList<>();
        Trainer t = builder(2, "sgd", 0.5, BatchSource.repeating(batch), steps).precision(Precision.BF16).build();
        t.step();
        List<Tensor> afterFirst = t.parameters().tensors().stream().map(p -> p.detach().clone()).toList();
        t.step();

        // the same weights in a model of their own, which autocast has never cast before
        TinyRegression.Net copy = new TinyRegression.Net();
        try (NoGradGuard noGrad = new NoGradGuard()) {
            List<Tensor> params = Parameters.of(copy).tensors();
            for (int i = 0; i < params.size(); i++) {
                params.get(i).copy_(afterFirst.get(i));
            }
        }
        double expected;
        try (Autocast autocast = Precision.BF16.autocast(new Device("cpu"))) {
            expected = TinyRegression.mse(copy.forward(batch.input()), batch.target()).item_double();
        }
        assertNotEquals(steps.get(0).loss(), steps.get(1).loss());
        assertEquals(expected, steps.get(1).loss(), 0.0, "a stale bfloat16 copy of a weight was used");
    }

    @Test
    void aHugeInitialScaleOverflowsHalvesEachTimeAndNeverStopsTheRun() {
        List<StepResult> steps = new ArrayList<>();
        Trainer t = builder(3, "sgd", 0.05, steps)
                .precision(Precision.FP16)
                .gradScaler(new GradScaler(TWO_POW_40, 2.0, 0.5, 3, true))
                .guard(new NonFiniteGuard(3))
                .build();
        String initial = t.parameters().checksum();
        StepResult first = t.step();
        assertTrue(first.skipped());
        assertTrue(first.skipReason().equals(Optional.of(SkipReason.FP16_OVERFLOW)));
        assertFalse(first.nonFinite());
        assertEquals("fp16 gradient overflow: loss scale lowered to 549755813888", first.skip().orElseThrow().detail());
        assertEquals(TWO_POW_40, first.diagnostics().lossScale().getAsDouble());
        assertEquals(initial, t.parameters().checksum(), "a skipped step leaves the weights bit-identical");

        TrainingOutcome outcome = t.run(60);
        assertTrue(outcome.completed(), outcome.stopReason().orElse(""));
        int overflows = 0;
        while (steps.get(overflows).skipReason().equals(Optional.of(SkipReason.FP16_OVERFLOW))) {
            assertEquals(TWO_POW_40 / Math.pow(2, overflows), steps.get(overflows).diagnostics().lossScale().getAsDouble());
            overflows++;
        }
        assertTrue(overflows > 3, "more overflows in a row than --max-nonfinite allows: " + overflows);
        assertEquals(0, outcome.nonFiniteSteps());
        assertEquals(0, t.guard().consecutiveNonFinite());

        // PyTorch's rule, replayed: an overflow halves the scale, 3 finite steps in a row (the growth interval)
        // double it
        double expected = TWO_POW_40;
        int finiteInARow = 0;
        int growths = 0;
        for (StepResult r : steps) {
            assertEquals(expected, r.diagnostics().lossScale().getAsDouble(), "step " + r.step());
            assertEquals(r.skipReason().equals(Optional.of(SkipReason.FP16_OVERFLOW)), r.skipped(), "step " + r.step());
            if (r.skipReason().equals(Optional.of(SkipReason.FP16_OVERFLOW))) {
                expected /= 2;
                finiteInARow = 0;
            } else if (++finiteInARow == 3) {
                expected *= 2;
                finiteInARow = 0;
                growths++;
            }
        }
        assertTrue(growths > 0, "the scale grew at least once");
        assertEquals(expected, t.scaler().scale());
        assertTrue(t.parameters().allFinite());
        assertEquals(60, steps.size());
    }

    @Test
    void gradientsThatOverflowAtTheScalesFloorAreADivergenceNotACalibration() {
        List<StepResult> steps = new ArrayList<>();
        // sqrt(0 * out) is 0 going forward, but its gradient is inf * 0 = NaN at any scale
        Trainer t = builder(6, "sgd", 0.05, new TinyRegression.Data(6, 16), steps)
                .loss((out, target) -> torch.sqrt(out.mul(new org.bytedeco.pytorch.Scalar(0.0)).sum()))
                .precision(Precision.FP16)
                .gradScaler(new GradScaler(GradScaler.MIN_SCALE * 8.0, 2.0, 0.5, 2000, true))
                .guard(new NonFiniteGuard(3))
                .build();
        String initial = t.parameters().checksum();
        TrainingOutcome outcome = t.run(50);

        assertFalse(outcome.completed(), "the guard stops the run");
        // 8x the floor: three halvings while calibrating, then three non-finite steps at the floor
        assertEquals(6, steps.size());
        for (int i = 0; i < 3; i++) {
            assertTrue(steps.get(i).skipReason().equals(Optional.of(SkipReason.FP16_OVERFLOW)) && !steps.get(i).nonFinite(), "step " + i);
        }
        for (int i = 3; i < 6; i++) {
            assertTrue(steps.get(i).nonFinite() && !steps.get(i).skipReason().equals(Optional.of(SkipReason.FP16_OVERFLOW)), "step " + i);
            assertEquals((double) GradScaler.MIN_SCALE, steps.get(i).diagnostics().lossScale().getAsDouble(), "the scale stays at its floor");
        }
        assertEquals(3, outcome.nonFiniteSteps());
        assertEquals(initial, t.parameters().checksum(), "no step was applied");
    }

    @Test
    void clippingSeesTheUnscaledGradients() {
        List<StepResult> fp32 = new ArrayList<>();
        builder(4, "sgd", 0.05, fp32).pipeline(Clip.chain(Clip.norm(0.01))).build().step();
        List<StepResult> fp16 = new ArrayList<>();
        Trainer t = builder(4, "sgd", 0.05, fp16).pipeline(Clip.chain(Clip.norm(0.01)))
                .precision(Precision.FP16).build();
        t.step();

        StepResult a = fp32.get(0);
        StepResult b = fp16.get(0);
        assertFalse(b.skipped());
        assertEquals(65536.0, b.diagnostics().lossScale().getAsDouble());
        assertEquals(a.gradients().norm(), b.gradients().norm(), 0.01 * a.gradients().norm(), "not 65536 times larger");
        assertTrue(b.gradients().clipped());
        assertEquals(0.01, b.gradients().clippedNorm(), 1e-6);
        assertEquals(a.gradients().clipCoef(), b.gradients().clipCoef(), 0.01 * a.gradients().clipCoef());
    }

    @Test
    void theLossScalerIsPartOfTheTrainersState() throws Exception {
        Trainer a = builder(5, "sgd", 0.05, null).precision(Precision.FP16)
                .gradScaler(new GradScaler(1 << 20, 2.0, 0.5, 4, true)).build();
        a.run(12);
        Map<String, Object> state = a.stateDict();
        @SuppressWarnings("unchecked")
        Map<String, Object> scaler = (Map<String, Object>) state.get("scaler");
        assertEquals(a.scaler().scale(), ((Number) scaler.get("scale")).doubleValue());
        assertTrue(a.scaler().scale() < (1 << 20), "the run overflowed at least once");

        String json = Json.compact().writeValueAsString(state);
        @SuppressWarnings("unchecked")
        Map<String, Object> read = Json.compact().readValue(json, Map.class);
        Trainer b = builder(6, "sgd", 0.05, null).precision(Precision.FP16).build();
        b.loadStateDict(read);
        assertEquals(a.scaler().scale(), b.scaler().scale());
        assertEquals(a.scaler().growthTracker(), b.scaler().growthTracker());
        assertEquals(json, Json.compact().writeValueAsString(b.stateDict()));

        assertFalse(builder(7, "sgd", 0.05, null).build().stateDict().containsKey("scaler"),
                "fp32 trainers' state is as before");
        assertThrows(IllegalArgumentException.class,
                () -> builder(8, "sgd", 0.05, null).precision(Precision.BF16).gradScaler(GradScaler.withDefaults()).build());
    }
}
