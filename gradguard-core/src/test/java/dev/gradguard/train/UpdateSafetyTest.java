package dev.gradguard.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.engine.Torch;
import dev.gradguard.guard.SkipReason;
import dev.gradguard.model.Parameters;
import dev.gradguard.optim.LrSchedule;
import dev.gradguard.optim.OptimizerSpec;
import dev.gradguard.optim.Optimizers;
import dev.gradguard.optim.Schedules;
import dev.gradguard.optim.TrainingOptimizer;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Finite gradients must not bring NaN or infinities into the weights through the update: with a libtorch
 * optimizer (the general path, most tests here) and with gradguard's own.
 */
class UpdateSafetyTest {

    @BeforeAll
    static void load() {
        Torch.load();
        Torch.setThreads(1);
    }

    /** A learning rate the test sets between steps. */
    private static final class SettableLr implements LrSchedule {
        double value;

        SettableLr(double value) {
            this.value = value;
        }

        @Override
        public double lr() {
            return value;
        }

        @Override
        public void afterUpdate(double loss) {
        }

        @Override
        public Map<String, Object> stateDict() {
            return Map.of();
        }

        @Override
        public void loadStateDict(Map<String, Object> state) {
        }
    }

    /** The same batch every step, so that two trainers see the same data whatever they skip. */
    private static BatchSource fixedBatch() {
        torch.manual_seed(5);
        // targets far from the outputs, so that the gradients are large enough for lr * grad to overflow float32
        Batch batch = new Batch(torch.rand(16, 4).retainReference(), torch.rand(16, 1).mul(new Scalar(100.0)).retainReference());
        return BatchSource.repeating(batch);
    }

    private static Trainer trainer(TinyRegression.Net net, TrainingOptimizer opt, LrSchedule schedule) {
        return Trainer.builder().model(net).data(fixedBatch()).loss(TinyRegression::mse).optimizer(opt)
                .schedule(schedule).build();
    }

    private static Trainer trainer(TinyRegression.Net net, Optimizer opt, LrSchedule schedule) {
        return Trainer.builder().model(net).data(fixedBatch()).loss(TinyRegression::mse).optimizer(opt)
                .schedule(schedule).build();
    }

    private static TinyRegression.Net net() {
        torch.manual_seed(3);
        return new TinyRegression.Net();
    }

    @Test
    void anUpdateThatOverflowsIsUndoneAndSkippedWithReasonUpdate() {
        TinyRegression.Net net = net();
        Optimizer sgd = Optimizers.libtorch(OptimizerSpec.defaults("sgd", 3e38), Parameters.of(net));
        Trainer t = trainer(net, sgd, Schedules.constant(3e38));
        String before = t.parameters().checksum();

        StepResult r = t.step();

        assertEquals(SkipReason.UPDATE, r.skipReason().orElseThrow());
        assertTrue(r.skip().get().detail().startsWith("the update made parameter "), r.skip().get().detail());
        assertTrue(Double.isFinite(r.gradients().norm()), "the gradients were finite");
        assertTrue(t.parameters().allFinite());
        assertEquals(before, t.parameters().checksum(), "the weights are bit-identical");
        assertEquals(1, t.guard().nonFiniteSteps());
    }

    @Test
    void anUndoneUpdateAlsoRestoresTheMomentumBuffer() {
        TinyRegression.Net a = net();
        Optimizer sgdA = Optimizers.libtorch(OptimizerSpec.defaults("sgd", 0.1).withMomentum(0.9), Parameters.of(a));
        SettableLr lr = new SettableLr(0.1);
        Trainer guarded = trainer(a, sgdA, lr);
        TinyRegression.Net b = net();
        Optimizer sgdB = Optimizers.libtorch(OptimizerSpec.defaults("sgd", 0.1).withMomentum(0.9), Parameters.of(b));
        Trainer reference = trainer(b, sgdB, Schedules.constant(0.1));

        guarded.step();
        lr.value = 3e38;
        assertEquals(SkipReason.UPDATE, guarded.step().skipReason().orElseThrow());
        lr.value = 1e39; // beyond float32: libtorch throws part-way through the step
        StepResult refused = guarded.step();
        assertEquals("the optimizer step failed: value cannot be converted to type float without overflow",
                refused.skip().orElseThrow().detail());
        lr.value = 0.1;
        guarded.step();
        reference.step();
        reference.step();

        assertEquals(reference.parameters().checksum(), guarded.parameters().checksum(),
                "the undone step left no trace in the momentum buffer");
    }

    @Test
    void gradguardsOptimizerUndoesAnOverflowingUpdateAndItsMomentumToo() {
        TinyRegression.Net a = net();
        SettableLr lr = new SettableLr(0.1);
        Trainer guarded = trainer(a, Optimizers.create(OptimizerSpec.sgd(0.1).withMomentum(0.9), Parameters.of(a)), lr);
        TinyRegression.Net b = net();
        Trainer reference = trainer(b, Optimizers.create(OptimizerSpec.sgd(0.1).withMomentum(0.9), Parameters.of(b)),
                Schedules.constant(0.1));

        guarded.step();
        String before = guarded.parameters().checksum();
        lr.value = 3e38;
        StepResult refused = guarded.step();
        assertEquals(SkipReason.UPDATE, refused.skipReason().orElseThrow());
        assertTrue(refused.skip().get().detail().startsWith("the update made parameter "), refused.skip().get().detail());
        assertEquals(before, guarded.parameters().checksum(), "the weights are bit-identical");
        lr.value = 0.1;
        guarded.step();
        reference.step();
        reference.step();

        assertEquals(reference.parameters().checksum(), guarded.parameters().checksum(),
                "the undone step left no trace in the momentum buffer");
    }

    @Test
    void aNaNMomentumBufferNeverReachesTheWeights() {
        TinyRegression.Net net = net();
        Parameters params = Parameters.of(net);
        Optimizer sgd = Optimizers.libtorch(OptimizerSpec.defaults("sgd", 0.1).withMomentum(0.9), params);
        // poison the momentum buffer with one NaN step, then give the weights finite values again
        Tensor[] saved = new Tensor[params.size()];
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int i = 0; i < params.size(); i++) {
                saved[i] = params.get(i).clone();
                params.get(i).mutable_grad().put(torch.full(params.get(i).sizes().vec().get(), new Scalar(Double.NaN)));
            }
            sgd.step();
            for (int i = 0; i < params.size(); i++) {
                params.get(i).copy_(saved[i]);
                params.get(i).mutable_grad().put(new Tensor());
            }
        }
        Trainer t = trainer(net, sgd, Schedules.constant(0.1));
        String before = t.parameters().checksum();

        StepResult r = t.step();

        assertEquals(SkipReason.UPDATE, r.skipReason().orElseThrow());
        assertTrue(t.parameters().allFinite());
        assertEquals(before, t.parameters().checksum());
    }

    @Test
    void aLearningRateThatIsNotFiniteSkipsTheStepInsteadOfThrowing() {
        TinyRegression.Net net = net();
        Optimizer adam = Optimizers.libtorch(OptimizerSpec.defaults("adam", 0.1), Parameters.of(net));
        String before = Parameters.of(net).checksum();
        Trainer nan = trainer(net, adam, new SettableLr(Double.NaN));

        StepResult r = nan.step();

        assertEquals(SkipReason.UPDATE, r.skipReason().orElseThrow());
        assertEquals(Optional.of("learning rate is NaN (must be finite and >= 0)"), r.skip().map(s -> s.detail()));
        assertEquals(before, nan.parameters().checksum());
    }
}
