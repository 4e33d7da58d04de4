package dev.gradguard.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.clip.Clip;
import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.optim.OptimizerSpec;
import dev.gradguard.train.StepResult;
import dev.gradguard.train.TrainingListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The session's contract as a library user meets it: defaults, checks at build(), and what it writes. */
class TrainingSessionTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        Torch.load();
        Torch.setThreads(1);
    }

    static final class Net extends Module implements Model {
        final LinearImpl fc = register_module("fc", new LinearImpl(3, 1));

        @Override
        public Module module() {
            return this;
        }

        @Override
        public Tensor forward(Tensor x) {
            return fc.forward(x);
        }
    }

    /** A source that implements only next(): the state methods' defaults serve it. */
    static final class Plain implements BatchSource {
        @Override
        public Batch next() {
            Tensor x = torch.randn(8, 3);
            return new Batch(x, x.sum(1).unsqueeze(1));
        }
    }

    @Test
    void withoutAScheduleTheLearningRateIsTheOptimizersOwnAndNothingIsWrittenWithoutARunDirectory() throws Exception {
        torch.manual_seed(0);
        Net net = new Net();
        List<Double> lrs = new ArrayList<>();
        try (TrainingSession session = TrainingSession.builder()
                .model(net).data(new Plain()).loss(torch::mse_loss)
                .optimizer(new SGD(net.parameters(), new SGDOptions(0.05)))
                .clip(Clip.norm(1.0))
                .handleSignals(false)
                .listener(new TrainingListener() {
                    @Override
                    public void onStep(StepResult r) {
                        lrs.add(r.lr());
                    }
                })
                .build()) {
            SessionResult r = session.run(5);
            assertEquals(5, r.outcome().steps());
            assertTrue(r.runDirectory().isEmpty());
            assertTrue(r.paramsFinite());
            assertEquals(Parameters.of(net).checksum(), r.paramChecksum());
            assertThrows(IllegalStateException.class, () -> session.run(5), "a session runs once");
        }
        assertEquals(List.of(0.05, 0.05, 0.05, 0.05, 0.05), lrs);
        try (var files = Files.list(tmp)) {
            assertEquals(0, files.count());
        }
    }

    @Test
    void buildRefusesAnOptimizerOverOtherTensorsAndAModelWithoutParameters() {
        Net net = new Net();
        Net other = new Net();
        IllegalArgumentException foreign = assertThrows(IllegalArgumentException.class, () -> TrainingSession.builder()
                .model(net).data(new Plain()).loss(torch::mse_loss)
                .optimizer(new SGD(other.parameters(), new SGDOptions(0.1))).build());
        assertTrue(foreign.getMessage().contains("not one of the model's parameters"), foreign.getMessage());

        TensorVector some = new TensorVector(net.fc.weight());
        IllegalArgumentException partial = assertThrows(IllegalArgumentException.class, () -> TrainingSession.builder()
                .model(net).data(new Plain()).loss(torch::mse_loss)
                .optimizer(new SGD(some, new SGDOptions(0.1))).build());
        assertTrue(partial.getMessage().contains("does not update the model's parameter 'fc.bias'"), partial.getMessage());

        Model empty = new Model() {
            final Module m = new Module();

            @Override
            public Module module() {
                return m;
            }

            @Override
            public Tensor forward(Tensor input) {
                return input;
            }
        };
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> TrainingSession.builder()
                .model(empty).data(new Plain()).loss(torch::mse_loss)
                .optimizer(new SGD(net.parameters(), new SGDOptions(0.1))).build());
        assertEquals("the model has no trainable parameter", none.getMessage());

        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> TrainingSession.builder().model(net).data(new Plain()).loss(torch::mse_loss).build());
        assertEquals("optimizer is required: set it on the builder", missing.getMessage());
    }

    @Test
    void buildRefusesAModelWhoseWeightsOrBuffersAreNotFinite() {
        for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY}) {
            Net net = new Net();
            net.fc.bias().detach().fill_(new Scalar(bad));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainingSession.builder()
                    .model(net).data(new Plain()).loss(torch::mse_loss).optimizer(OptimizerSpec.sgd(0.1)).build());
            assertEquals("the model's fc.bias holds NaN or an infinity: training starts only from finite weights, "
                    + "which the guard then keeps finite", e.getMessage());

            Net withBuffer = new Net();
            withBuffer.register_buffer("scale", torch.full(new long[] {2}, new Scalar(bad)));
            e = assertThrows(IllegalArgumentException.class, () -> TrainingSession.builder()
                    .model(withBuffer).data(new Plain()).loss(torch::mse_loss).optimizer(OptimizerSpec.sgd(0.1)).build());
            assertTrue(e.getMessage().startsWith("the model's scale holds NaN or an infinity"), e.getMessage());
        }
    }

    @Test
    void closingTheSessionGivesEveryParameterItsOwnGradientAgain() throws Exception {
        torch.manual_seed(0);
        Net net = new Net();
        SGD sgd = new SGD(net.parameters(), new SGDOptions(0.05));
        try (TrainingSession session = TrainingSession.builder()
                .model(net).data(new Plain()).loss(torch::mse_loss).optimizer(sgd).handleSignals(false).build()) {
            session.run(2);
        }
        // plain libtorch again: zero_grad() throws on gradient views ("Can't detach views in-place")
        sgd.zero_grad();
        Tensor x = torch.randn(8, 3);
        torch.mse_loss(net.forward(x), x.sum(1).unsqueeze(1)).backward();
        sgd.step();
        assertFalse(net.fc.weight().grad().is_view(), "the gradient is a tensor of its own");
    }

    @Test
    void aRunDirectoryGetsItsMarkerConfigMetricsWeightsAndSummary() throws Exception {
        torch.manual_seed(0);
        Net net = new Net();
        Path dir = tmp.resolve("run");
        try (TrainingSession session = TrainingSession.builder()
                .model(net).data(new Plain()).loss(torch::mse_loss)
                .optimizer(new SGD(net.parameters(), new SGDOptions(0.05)))
                .runDirectory(dir).labels(java.util.Map.of("task", "sum")).config(java.util.Map.of("lr", 0.05))
                .checkpoints(new CheckpointPolicy(2, 1, 0)).handleSignals(false).build()) {
            SessionResult r = session.run(6);
            assertEquals("sum", r.summary().get("task"));
        }
        for (String file : List.of(RunDirectory.MARKER, "config.json", "metrics.jsonl", "model.pt", "summary.json")) {
            assertTrue(Files.isRegularFile(dir.resolve(file)), file);
        }
        assertEquals(6, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
        try (var checkpoints = Files.list(dir.resolve("checkpoints"))) {
            assertEquals(List.of("step-00000006"), checkpoints.map(p -> p.getFileName().toString()).toList(),
                    "every 2 steps, the newest one kept");
        }
    }

    @Test
    void aBatchMadeOutsideTheStepIsAClearErrorNotACrash() {
        torch.manual_seed(0);
        Net net = new Net();
        Batch[] early = new Batch[1];
        try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            early[0] = new Plain().next(); // made in a scope that is closed before the step
        }
        try (TrainingSession session = TrainingSession.builder()
                .model(net).data(() -> early[0]).loss(torch::mse_loss)
                .optimizer(new SGD(net.parameters(), new SGDOptions(0.05))).handleSignals(false).build()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> session.run(1));
            assertTrue(e.getMessage().startsWith("the data source returned a batch whose tensors are already freed"),
                    e.getMessage());
        }
    }
}
