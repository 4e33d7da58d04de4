package dev.gradguard.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.clip.Clip;
import dev.gradguard.clip.GradientPipeline;
import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.engine.Torch;
import dev.gradguard.guard.NonFiniteGuard;
import dev.gradguard.model.Parameters;
import dev.gradguard.optim.OptimizerSpec;
import dev.gradguard.optim.Optimizers;
import dev.gradguard.optim.Schedules;
import dev.gradguard.optim.TrainingOptimizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        Torch.load();
        Torch.setThreads(1);
    }

    private static Trainer trainer(long seed, String optimizer, GradientPipeline clip, Set<Long> inject,
            int maxNonfinite, List<StepResult> sink) {
        torch.manual_seed(seed);
        TinyRegression.Net net = new TinyRegression.Net();
        TrainingOptimizer opt = Optimizers.create(OptimizerSpec.defaults(optimizer, 0.05), Parameters.of(net));
        Trainer.Builder b = Trainer.builder()
                .model(net)
                .data(new TinyRegression.Data(seed, 16))
                .loss(TinyRegression::mse)
                .optimizer(opt)
                .schedule(Schedules.constant(0.05))
                .pipeline(clip)
                .guard(new NonFiniteGuard(maxNonfinite))
                .injection(NonFiniteInjection.atSteps(inject));
        if (sink != null) {
            b.listener(new TrainingListener() {
                @Override
                public void onStep(StepResult result) {
                    sink.add(result);
                }
            });
        }
        return b.build();
    }

    private byte[] optimizerBytes(TrainingOptimizer opt, String name) throws IOException {
        OutputArchive a = new OutputArchive();
        opt.save(a);
        // the archive records its file name, so both snapshots use the same name in different folders
        Path file = Files.createDirectories(tmp.resolve(name)).resolve("optimizer.pt");
        a.save_to(file.toString());
        return Files.readAllBytes(file);
    }

    @Test
    void trainingReducesTheLossOfAUserDefinedModel() {
        List<StepResult> steps = new ArrayList<>();
        TrainingOutcome outcome = trainer(1, "adam", Clip.chain(Clip.norm(1.0)), Set.of(), 20, steps).run(300);
        assertTrue(outcome.completed());
        assertEquals(300, steps.size());
        double first = steps.subList(0, 10).stream().mapToDouble(StepResult::loss).average().orElseThrow();
        assertTrue(outcome.finalLoss() < first / 10, "loss " + first + " -> " + outcome.finalLoss());
    }

    @Test
    void aNonFiniteStepLeavesWeightsAndAdamStateBitIdentical() throws IOException {
        List<StepResult> steps = new ArrayList<>();
        Trainer t = trainer(2, "adam", Clip.chain(Clip.norm(1.0)), Set.of(5L), 20, steps);
        for (int i = 0; i < 5; i++) {
            t.step();
        }
        String weightsBefore = t.parameters().checksum();
        byte[] adamBefore = optimizerBytes(t.optimizer(), "before");

        StepResult poisoned = t.step();

        assertTrue(poisoned.skipped());
        assertTrue(poisoned.nonFinite());
        assertTrue(Double.isNaN(poisoned.gradients().norm()));
        assertEquals(weightsBefore, t.parameters().checksum());
        assertArrayEquals(adamBefore, optimizerBytes(t.optimizer(), "after"));
        assertTrue(t.parameters().allFinite());

        StepResult next = t.step();
        assertFalse(next.skipped());
        assertNotEquals(weightsBefore, t.parameters().checksum());
        assertEquals(1, t.guard().skippedSteps());
        assertEquals(0, t.guard().consecutiveNonFinite());
    }

    @Test
    void injectedStepsAreExactlyTheSkippedOnes() {
        List<StepResult> steps = new ArrayList<>();
        TrainingOutcome outcome = trainer(3, "sgd", Clip.none(), Set.of(3L, 7L, 8L), 20, steps).run(20);
        assertEquals(3, outcome.skippedSteps());
        assertEquals(3, outcome.nonFiniteSteps());
        List<Long> skipped = steps.stream().filter(StepResult::skipped).map(StepResult::step).toList();
        assertEquals(List.of(3L, 7L, 8L), skipped);
    }

    @Test
    void tooManyConsecutiveNonFiniteStepsStopTheRunWithTheLastGoodWeights() {
        List<StepResult> steps = new ArrayList<>();
        Trainer t = trainer(4, "sgd", Clip.chain(Clip.norm(1.0)), Set.of(2L, 3L, 4L, 5L, 6L), 3, steps);
        TrainingOutcome outcome = t.run(50);
        assertFalse(outcome.completed());
        assertEquals(5, outcome.steps(), "steps 0-1 applied, 2-4 non-finite, the third stops the run");
        assertTrue(outcome.stopReason().orElseThrow().contains("3 consecutive steps"));
        assertEquals(5, steps.size(), "the stopping step is still reported to listeners");
        assertTrue(steps.get(4).stopReason().isPresent());
        assertTrue(t.parameters().allFinite());
    }

    @Test
    void theSameSeedGivesBitIdenticalWeightsAndAnotherSeedDoesNot() {
        String a = runChecksum(7);
        String b = runChecksum(7);
        String c = runChecksum(8);
        assertEquals(a, b);
        assertNotEquals(a, c);
    }

    private static String runChecksum(long seed) {
        Trainer t = trainer(seed, "adam", Clip.chain(Clip.norm(0.5)), Set.of(4L), 20, null);
        t.run(40);
        return t.parameters().checksum();
    }

    @Test
    void accumulatingTwoMicroBatchesEqualsOneBatchOfBoth() {
        torch.manual_seed(11);
        TinyRegression.Data source = new TinyRegression.Data(11, 8);
        Batch b1 = source.next();
        Batch b2 = source.next();
        Batch both = new Batch(torch.cat(new org.bytedeco.pytorch.TensorVector(b1.input(), b2.input())),
                torch.cat(new org.bytedeco.pytorch.TensorVector(b1.target(), b2.target())));

        String accumulated = oneSgdStep(List.of(b1, b2), 2);
        String whole = oneSgdStep(List.of(both), 1);
        assertEquals(whole, accumulated);
    }

    /** The weights (rounded to 1e-6) after one clipped SGD step over the given micro-batches. */
    private static String oneSgdStep(List<Batch> batches, int accumulation) {
        torch.manual_seed(12);
        TinyRegression.Net net = new TinyRegression.Net();
        BatchSource fixed = new BatchSource() {
            int i;

            @Override
            public Batch next() {
                return batches.get(i++);
            }

            @Override
            public Map<String, Object> stateDict() {
                return Map.of();
            }

            @Override
            public void loadStateDict(Map<String, Object> state) {
            }
        };
        Trainer t = Trainer.builder().model(net).data(fixed).loss(TinyRegression::mse)
                .optimizer(Optimizers.create(OptimizerSpec.defaults("sgd", 0.5), Parameters.of(net)))
                .schedule(Schedules.constant(0.5))
                .pipeline(Clip.chain(Clip.norm(0.1)))
                .accumulation(accumulation).build();
        StepResult r = t.step();
        assertTrue(r.gradients().clipped(), "the step is clipped once, after the last micro-batch");
        StringBuilder s = new StringBuilder();
        for (double v : dev.gradguard.engine.Tensors.toDoubles(torch.cat(new org.bytedeco.pytorch.TensorVector(
                t.parameters().tensors().stream().map(p -> p.detach().flatten()).toArray(org.bytedeco.pytorch.Tensor[]::new))))) {
            s.append(Math.round(v * 1e6)).append(',');
        }
        return s.toString();
    }

    @Test
    void theLoopStateSurvivesAJsonRoundTrip() throws Exception {
        Trainer a = trainer(21, "sgd", Clip.chain(Clip.norm(1.0)), Set.of(3L), 20, null);
        a.run(15);
        Map<String, Object> state = a.stateDict();
        assertEquals(15L, ((Number) state.get("step")).longValue());

        String json = dev.gradguard.metrics.Json.compact().writeValueAsString(state);
        @SuppressWarnings("unchecked")
        Map<String, Object> read = dev.gradguard.metrics.Json.compact().readValue(json, Map.class);
        Trainer b = trainer(99, "sgd", Clip.chain(Clip.norm(1.0)), Set.of(), 20, null);
        b.loadStateDict(read);

        assertEquals(15, b.stepCount());
        assertEquals(1, b.guard().skippedSteps());
        assertEquals(json, dev.gradguard.metrics.Json.compact().writeValueAsString(b.stateDict()));
    }

    @Test
    void theControllerLowersTheLrWhenTheNormKeepsPressingTheThreshold() {
        torch.manual_seed(31);
        TinyRegression.Net net = new TinyRegression.Net();
        dev.gradguard.clip.GradientPipeline pipeline = Clip.chain(Clip.norm(0.0001));
        List<StepResult> steps = new ArrayList<>();
        Trainer t = Trainer.builder().model(net).data(new TinyRegression.Data(31, 16)).loss(TinyRegression::mse)
                .optimizer(Optimizers.create(OptimizerSpec.defaults("sgd", 0.08), Parameters.of(net)))
                .schedule(Schedules.constant(0.08))
                .pipeline(pipeline)
                .controller(dev.gradguard.control.Controllers.auto(pipeline,
                        new dev.gradguard.control.AutoController.Options(5, 0.5, 0.2, 0.9, 200, 100, 1.5, 4.0, 0.5)))
                .listener(new TrainingListener() {
                    @Override
                    public void onStep(StepResult result) {
                        steps.add(result);
                    }
                })
                .build();
        t.run(16);
        // every step clips hard, so every 5th step in a row halves the scale, down to the floor 0.2
        List<Long> decided = steps.stream().filter(r -> !r.diagnostics().control().isEmpty()).map(StepResult::step).toList();
        assertEquals(List.of(4L, 9L, 14L), decided);
        assertEquals(0.08, steps.get(4).lr(), 1e-12);
        assertEquals(0.04, steps.get(5).lr(), 1e-12);
        assertEquals(0.02, steps.get(10).lr(), 1e-12);
        assertEquals(0.016, steps.get(15).lr(), 1e-12, "0.08 x floor 0.2");
        assertEquals(0.2, t.controller().lrScale(), 1e-12);
        assertEquals(dev.gradguard.control.ControlDecision.Kind.LOWER_LR, steps.get(4).diagnostics().control().get(0).kind());
        assertEquals(0.2, ((Number) ((Map<?, ?>) t.stateDict().get("controller")).get("lr_scale")).doubleValue(), 1e-12);
    }

    @Test
    void theFlatGradientBufferTrainsLikeTensorByTensorClipping() {
        double[] flat = trainedWeights(true);
        double[] list = trainedWeights(false);
        assertEquals(list.length, flat.length);
        for (int i = 0; i < flat.length; i++) {
            assertEquals(list[i], flat[i], 1e-5 * Math.max(1, Math.abs(list[i])), "weight " + i);
        }
    }

    /** The weights after 40 Adam steps with hard clipping (every step clips) and one injected NaN. */
    private static double[] trainedWeights(boolean gradBuffer) {
        torch.manual_seed(41);
        TinyRegression.Net net = new TinyRegression.Net();
        Trainer t = Trainer.builder().model(net).data(new TinyRegression.Data(41, 16)).loss(TinyRegression::mse)
                .optimizer(Optimizers.create(OptimizerSpec.defaults("adam", 0.01), Parameters.of(net)))
                .schedule(Schedules.constant(0.01))
                .pipeline(Clip.chain(Clip.value(2.0), Clip.norm(0.05)))
                .injection(NonFiniteInjection.atSteps(Set.of(7L)))
                .gradBuffer(gradBuffer)
                .build();
        TrainingOutcome outcome = t.run(40);
        assertEquals(1, outcome.skippedSteps());
        assertEquals(39, outcome.clippedSteps());
        return dev.gradguard.engine.Tensors.toDoubles(torch.cat(new org.bytedeco.pytorch.TensorVector(
                t.parameters().tensors().stream().map(p -> p.detach().flatten()).toArray(org.bytedeco.pytorch.Tensor[]::new))));
    }
}
