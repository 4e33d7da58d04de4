package dev.gradguard.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.clip.Clip;
import dev.gradguard.data.Batch;
import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.metrics.Json;
import dev.gradguard.model.Parameters;
import dev.gradguard.optim.FusedOptimizer;
import dev.gradguard.optim.LibtorchOptimizer;
import dev.gradguard.optim.OptimizerSpec;
import dev.gradguard.optim.Optimizers;
import dev.gradguard.optim.Schedules;
import dev.gradguard.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointRoundTripTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        Torch.load();
        Torch.setThreads(1);
    }

    private static List<Batch> batches(long seed, int n) {
        TinyModels.Data data = new TinyModels.Data(seed);
        List<Batch> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(data.next());
        }
        return out;
    }

    @Test
    void aRestoredModelAndAdamContinueBitIdentically() throws Exception {
        List<Batch> batches = batches(7, 8);
        TinyModels.Net original = TinyModels.net(1, 8);
        Optimizer originalAdam = TinyModels.adam(original);
        for (int i = 0; i < 5; i++) {
            TinyModels.step(original, originalAdam, batches.get(i));
        }
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("step", 5L);
        state.put("recent_losses", List.of(0.5, 0.25, "NaN"));
        state.put("data", Map.of("state", -6917529027641081856L));
        CheckpointStore store = new CheckpointStore(tmp);
        SavedCheckpoint saved = store.save(Checkpoint.capture(5, original, LibtorchOptimizer.of(originalAdam), state,
                Map.of("metrics.jsonl", 1234L, "events.out.tfevents.1.host", 99L), Map.of("task", "tiny", "hidden", 8)));
        assertEquals(tmp.resolve("step-00000005"), saved.directory());
        float[] outputAtSave = Tensors.toFloats(original.forward(batches.get(0).input()));

        for (int i = 5; i < 8; i++) {
            TinyModels.step(original, originalAdam, batches.get(i));
        }
        String continued = Parameters.of(original).checksum();

        TinyModels.Net restored = TinyModels.net(2, 8);
        Optimizer restoredAdam = TinyModels.adam(restored);
        assertNotEquals(Parameters.of(original).checksum(), Parameters.of(restored).checksum());
        LoadedCheckpoint loaded = CheckpointStore.load(saved.directory());
        loaded.restoreModel(restored);
        loaded.restoreOptimizer(LibtorchOptimizer.of(restoredAdam));
        assertArrayEquals(outputAtSave, Tensors.toFloats(restored.forward(batches.get(0).input())));
        for (int i = 5; i < 8; i++) {
            TinyModels.step(restored, restoredAdam, batches.get(i));
        }
        assertEquals(continued, Parameters.of(restored).checksum());

        // without the optimizer state (Adam's moments and step count) the run does not continue the same way
        TinyModels.Net modelOnly = TinyModels.net(3, 8);
        Optimizer freshAdam = TinyModels.adam(modelOnly);
        CheckpointStore.restoreModel(modelOnly, saved.directory());
        for (int i = 5; i < 8; i++) {
            TinyModels.step(modelOnly, freshAdam, batches.get(i));
        }
        assertNotEquals(continued, Parameters.of(modelOnly).checksum());

        assertEquals(5, loaded.step());
        assertEquals(Json.compact().writeValueAsString(state), Json.compact().writeValueAsString(loaded.trainerState()));
        assertEquals(Map.of("metrics.jsonl", 1234L, "events.out.tfevents.1.host", 99L), loaded.metricsOffsets());
        assertEquals(Map.of("task", "tiny", "hidden", 8), loaded.metadata());
        assertEquals("Adam", loaded.optimizerType());
        assertEquals(List.of("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"),
                loaded.fingerprint().entries().stream().map(ModelFingerprint.Entry::name).toList());
        assertEquals(List.of(8L, 4L), loaded.fingerprint().entries().get(0).shape());
    }

    @Test
    void aRestoredModelKeepsEveryParametersStorageAndTakesTheSavedValuesAndBuffers() throws Exception {
        TinyModels.Net saved = TinyModels.net(21, 8);
        org.bytedeco.pytorch.Tensor savedBuffer = saved.register_buffer("running", torch.full(new long[] {3}, new org.bytedeco.pytorch.Scalar(7.0)));
        SavedCheckpoint checkpoint = new CheckpointStore(tmp).save(TinyModels.checkpoint(1, saved, TinyModels.adam(saved)));
        TinyModels.Net live = TinyModels.net(22, 8);
        org.bytedeco.pytorch.Tensor liveBuffer = live.register_buffer("running", torch.zeros(3));
        Parameters before = Parameters.of(live);
        List<Long> storage = new java.util.ArrayList<>();
        for (org.bytedeco.pytorch.Tensor p : before) {
            storage.add(p.data_ptr().address());
        }
        assertFalse(Parameters.of(saved).checksum().equals(before.checksum()));

        CheckpointStore.restoreModel(live, checkpoint.directory());

        assertEquals(Parameters.of(saved).checksum(), Parameters.of(live).checksum(), "the saved values");
        for (int i = 0; i < before.size(); i++) {
            // Module.load would set_() new storage, which detaches a parameter from DDP's Reducer hooks
            assertEquals(storage.get(i), Parameters.of(live).get(i).data_ptr().address(), before.name(i) + " kept its storage");
        }
        assertArrayEquals(Tensors.toFloats(savedBuffer), Tensors.toFloats(liveBuffer), "buffers are restored too");
    }

    @Test
    void theGeneratorDrawsTheSameNumbersAfterARestore() throws Exception {
        TinyModels.Net net = TinyModels.net(4, 8);
        SavedCheckpoint saved = new CheckpointStore(tmp).save(TinyModels.checkpoint(1, net, TinyModels.adam(net)));
        float[] afterSave = Tensors.toFloats(torch.randn(16));
        torch.randn(1000);
        assertFalse(Arrays.equals(afterSave, Tensors.toFloats(torch.randn(16))));

        CheckpointStore.restoreGenerator(saved.directory());
        assertArrayEquals(afterSave, Tensors.toFloats(torch.randn(16)));
        assertEquals(5056, Files.size(saved.directory().resolve("generator.bin")));
    }

    @Test
    void aRestoredTrainerContinuesBitIdentically() throws Exception {
        Trainer original = trainer(11);
        original.run(6);
        CheckpointStore store = CheckpointStore.inRun(tmp, 2);
        store.save(Checkpoint.capture(original, Map.of(), Map.of()));
        original.run(10);

        Trainer resumed = trainer(12);
        store.latestValid().checkpoint().orElseThrow().restore(resumed);
        assertEquals(6, resumed.stepCount());
        resumed.run(10);
        assertEquals(original.parameters().checksum(), resumed.parameters().checksum());
        assertEquals(Json.compact().writeValueAsString(original.stateDict()),
                Json.compact().writeValueAsString(resumed.stateDict()));
    }

    @Test
    void aTrainerWithAnotherClipPolicyIsRefusedWithTheSavedAndTheConfiguredSettings() throws Exception {
        Trainer original = trainer(11);
        original.run(3);
        CheckpointStore store = CheckpointStore.inRun(tmp, 2);
        store.save(Checkpoint.capture(original, Map.of(), Map.of()));
        LoadedCheckpoint checkpoint = store.latestValid().checkpoint().orElseThrow();

        CheckpointException threshold = assertThrows(CheckpointException.class,
                () -> checkpoint.restore(trainer(12, Clip.chain(Clip.norm(1.0)))));
        assertTrue(threshold.getMessage().endsWith("transform 0:norm was saved with {maxNorm=0.5, normType=2.0} but "
                + "is configured with {maxNorm=1.0, normType=2.0} here"), threshold.getMessage());
        CheckpointException chain = assertThrows(CheckpointException.class,
                () -> checkpoint.restore(trainer(12, Clip.chain(Clip.spike(6), Clip.norm(0.5)))));
        assertTrue(chain.getMessage().endsWith("the saved gradient pipeline is [0:norm] but this one is [0:spike, "
                + "1:norm]"), chain.getMessage());
    }

    private static Trainer trainer(long seed) {
        return trainer(seed, Clip.chain(Clip.norm(0.5)));
    }

    private static Trainer trainer(long seed, dev.gradguard.clip.GradientPipeline clip) {
        TinyModels.Net net = TinyModels.net(seed, 8);
        return Trainer.builder().model(net).data(new TinyModels.Data(seed)).loss(torch::mse_loss)
                .optimizer(Optimizers.create(OptimizerSpec.defaults("adam", 0.05), Parameters.of(net)))
                .schedule(Schedules.cosine(0.05, 10, 0))
                .pipeline(clip)
                .build();
    }

    /** One step of gradguard's optimizer on the mean squared error of {@code batch}. */
    private static void step(TinyModels.Net net, FusedOptimizer optimizer, Batch batch) {
        net.zero_grad(false);
        torch.mse_loss(net.forward(batch.input()), batch.target()).backward();
        optimizer.step(optimizer.lr(), new BitSet());
    }

    @Test
    void aCheckpointOfLibtorchsAdamResumesInGradguardsAdamWithItsMoments() {
        List<Batch> batches = batches(7, 8);
        TinyModels.Net original = TinyModels.net(1, 8);
        Optimizer libtorchAdam = TinyModels.adam(original);
        for (int i = 0; i < 5; i++) {
            TinyModels.step(original, libtorchAdam, batches.get(i));
        }
        SavedCheckpoint saved = new CheckpointStore(tmp).save(TinyModels.checkpoint(5, original, libtorchAdam));
        for (int i = 5; i < 8; i++) {
            TinyModels.step(original, libtorchAdam, batches.get(i));
        }

        TinyModels.Net restored = TinyModels.net(2, 8);
        FusedOptimizer adam = Optimizers.create(OptimizerSpec.adam(0.05), Parameters.of(restored));
        CheckpointStore.load(saved.directory()).restoreWeights(restored, adam);
        TinyModels.Net modelOnly = TinyModels.net(3, 8);
        FusedOptimizer freshAdam = Optimizers.create(OptimizerSpec.adam(0.05), Parameters.of(modelOnly));
        CheckpointStore.restoreModel(modelOnly, saved.directory());
        for (int i = 5; i < 8; i++) {
            step(restored, adam, batches.get(i));
            step(modelOnly, freshAdam, batches.get(i));
        }

        // libtorch's Adam and PyTorch's fused kernel round differently: equal to float32 precision, not bit for bit
        for (int i = 0; i < Parameters.of(original).size(); i++) {
            float[] expected = Tensors.toFloats(Parameters.of(original).get(i).detach());
            assertArrayEquals(expected, Tensors.toFloats(Parameters.of(restored).get(i).detach()), 1e-5f);
        }
        assertNotEquals(Arrays.toString(Tensors.toFloats(Parameters.of(original).get(0).detach())),
                Arrays.toString(Tensors.toFloats(Parameters.of(modelOnly).get(0).detach())),
                "without the moments the run continues differently");
    }

    @Test
    void aMomentumThatGradguardsOptimizerWouldNotKeepIsRefusedNotDropped() {
        TinyModels.Net net = TinyModels.net(1, 8);
        Optimizer momentum = Optimizers.libtorch(OptimizerSpec.sgd(0.1).withMomentum(0.9), Parameters.of(net));
        TinyModels.step(net, momentum, batches(7, 1).get(0));
        SavedCheckpoint saved = new CheckpointStore(tmp).save(TinyModels.checkpoint(1, net, momentum));
        TinyModels.Net other = TinyModels.net(2, 8);
        String before = Parameters.of(other).checksum();

        CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointStore.load(saved.directory())
                .restoreWeights(other, Optimizers.create(OptimizerSpec.sgd(0.1), Parameters.of(other))));

        assertEquals("checkpoint " + saved.directory() + ": gradguard.SGD could not load optimizer.pt: the optimizer "
                + "state of parameter 'fc1.weight' holds momentum_buffer, which gradguard.SGD with these options does "
                + "not keep", e.getMessage());
        assertEquals(before, Parameters.of(other).checksum(), "nothing was loaded");
    }

    @Test
    void aCheckpointOfADifferentModelIsRefusedAndTheModelIsUntouched() {
        TinyModels.Net small = TinyModels.net(5, 8);
        SavedCheckpoint saved = new CheckpointStore(tmp).save(TinyModels.checkpoint(3, small, TinyModels.adam(small)));
        TinyModels.Net wide = TinyModels.net(6, 16);
        Optimizer wideAdam = TinyModels.adam(wide);
        String before = Parameters.of(wide).checksum();

        CheckpointException e = assertThrows(CheckpointException.class,
                () -> CheckpointStore.restoreModel(wide, saved.directory()));
        assertEquals("checkpoint " + saved.directory() + ": saved from a different model: parameter fc1.weight is "
                + "Float[8, 4] in the checkpoint but Float[16, 4] in this model", e.getMessage());
        assertEquals(before, Parameters.of(wide).checksum());
        assertArrayEquals(new long[] {16, 4}, Parameters.of(wide).get(0).sizes().vec().get());

        CheckpointException opt = assertThrows(CheckpointException.class,
                () -> CheckpointStore.restoreOptimizer(LibtorchOptimizer.of(wideAdam), saved.directory()));
        assertTrue(opt.getMessage().endsWith("optimizer parameter 0 is Float[16, 4] here but Float[8, 4] (fc1.weight) "
                + "in the checkpoint"), opt.getMessage());
        LibtorchOptimizer sgd = LibtorchOptimizer.of(Optimizers.libtorch(OptimizerSpec.sgd(0.1), Parameters.of(small)));
        assertTrue(assertThrows(CheckpointException.class, () -> CheckpointStore.restoreOptimizer(sgd, saved.directory()))
                .getMessage().endsWith("saved with optimizer Adam, which SGD cannot read"));
    }

    @Test
    void aModelWithAnExtraOrMissingParameterIsNamed() {
        ModelFingerprint saved = new ModelFingerprint(List.of(
                new ModelFingerprint.Entry("parameter", "a", "Float", List.of(2L)),
                new ModelFingerprint.Entry("parameter", "b", "Float", List.of(3L))));
        ModelFingerprint onlyA = new ModelFingerprint(saved.entries().subList(0, 1));
        assertEquals("parameter b is in the checkpoint but not in this model", saved.firstMismatch(onlyA).orElseThrow());
        assertEquals("parameter b of this model is not in the checkpoint", onlyA.firstMismatch(saved).orElseThrow());
        assertTrue(saved.firstMismatch(saved).isEmpty());
    }
}
