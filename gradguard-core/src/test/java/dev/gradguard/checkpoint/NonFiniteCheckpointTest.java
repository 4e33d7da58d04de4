package dev.gradguard.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import dev.gradguard.optim.LibtorchOptimizer;
import java.nio.file.Path;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A checkpoint must never bring NaN or infinities into a model or an optimizer. */
class NonFiniteCheckpointTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        Torch.load();
    }

    @Test
    void aCheckpointWithANaNWeightIsRefusedNamingItAndTheModelIsUntouched() {
        TinyModels.Net saved = TinyModels.net(1, 8);
        Optimizer adam = TinyModels.adam(saved);
        try (NoGradGuard noGrad = new NoGradGuard()) {
            saved.fc2.bias().fill_(new Scalar(Double.NaN));
        }
        Path dir = new CheckpointStore(tmp).save(TinyModels.checkpoint(1, saved, adam)).directory();
        TinyModels.Net live = TinyModels.net(2, 8);
        String before = Parameters.of(live).checksum();

        CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointStore.restoreModel(live, dir));

        assertTrue(e.getMessage().contains("model.pt: fc2.bias holds NaN or an infinity"), e.getMessage());
        assertEquals(before, Parameters.of(live).checksum());
    }

    @Test
    void aCheckpointWithANaNMomentumIsRefusedNamingItBeforeTheWeightsChange() {
        TinyModels.Net saved = TinyModels.net(1, 8);
        Optimizer adam = TinyModels.adam(saved);
        Parameters params = Parameters.of(saved);
        try (NoGradGuard noGrad = new NoGradGuard()) {
            Tensor weight = params.get(0).clone();
            params.get(0).mutable_grad().put(torch.full(params.get(0).sizes().vec().get(), new Scalar(Double.NaN)));
            for (int i = 1; i < params.size(); i++) {
                params.get(i).mutable_grad().put(torch.zeros_like(params.get(i)));
            }
            adam.step();
            params.get(0).copy_(weight);
        }
        Path dir = new CheckpointStore(tmp).save(TinyModels.checkpoint(1, saved, adam)).directory();
        TinyModels.Net live = TinyModels.net(2, 8);
        LibtorchOptimizer liveAdam = LibtorchOptimizer.of(TinyModels.adam(live));
        String before = Parameters.of(live).checksum();
        LoadedCheckpoint c = CheckpointStore.load(dir);

        CheckpointException optimizerOnly = assertThrows(CheckpointException.class, () -> c.restoreOptimizer(liveAdam));
        CheckpointException both = assertThrows(CheckpointException.class, () -> c.restoreWeights(live, liveAdam));

        assertTrue(optimizerOnly.getMessage().contains("optimizer.pt: exp_avg of fc1.weight holds NaN or an infinity"),
                optimizerOnly.getMessage());
        assertEquals(optimizerOnly.getMessage(), both.getMessage());
        assertEquals(before, Parameters.of(live).checksum(), "the weights were not restored either");
    }
}
