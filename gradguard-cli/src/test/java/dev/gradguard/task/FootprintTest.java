package dev.gradguard.task;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class FootprintTest {

    @BeforeAll
    static void load() {
        Torch.load();
    }

    private static long numel(Task task, String model) {
        long n = 0;
        for (Tensor t : Parameters.of(task.createModel(model).module())) {
            n += t.numel();
        }
        return n;
    }

    @Test
    void parameterCountsAreTheModelsOwnAsLibtorchBuildsThem() throws URISyntaxException {
        TaskOptions options = TaskOptions.defaults().withHidden(24).withLength(7).withSeqLen(7);
        for (String name : new String[] {"adding", "temporal-order"}) {
            Task task = Tasks.create(name, options);
            for (String model : task.models()) {
                assertEquals(numel(task, model), task.footprint(model).parameters(), name + "/" + model);
            }
        }
        Path tiny = Path.of(FootprintTest.class.getResource("/charlm/tiny.txt").toURI());
        Task charlm = Tasks.create("charlm", options.withDataPath(tiny));
        assertEquals(numel(charlm, "lstm"), charlm.footprint("lstm").parameters());
        assertEquals(numel(charlm, "transformer"), charlm.footprint("transformer").parameters());
    }

    @Test
    void aJobLargerThanTheMachineOrTheHeapIsRefusedWithItsEstimate() {
        // 1,000 parameters, 10 values kept per sequence, 4 input values per sequence, evaluation 100 at once
        Footprint f = new Footprint(1000, 10, 4, 100);
        assertEquals(4.0 * (1000 * (2 + 2) + 10 * 100), f.trainingBytes(50, 2));
        assertEquals(4.0 * (1000 * 2 + 10 * 300), f.trainingBytes(300, 0), "the larger of batch and evaluation");
        assertDoesNotThrow(() -> f.requireFits(50, 2, 20_000, 1 << 20));
        IllegalArgumentException machine = assertThrows(IllegalArgumentException.class, () -> f.requireFits(50, 2, 19_999, 1 << 20));
        assertTrue(machine.getMessage().startsWith("this job needs about 20.0 KB of memory (1.00e+03 parameters x 4 bytes x 4 "
                + "copies (weights, gradients, optimizer state) + activations of 100 sequences x 10.0 values x 4 bytes) but "
                + "this machine has 20.0 KB"), machine.getMessage());
        IllegalArgumentException heap = assertThrows(IllegalArgumentException.class, () -> f.requireFits(50, 2, 1L << 40, 3199));
        assertTrue(heap.getMessage().startsWith("one batch's input is 1.6 KB (400 values), more than the JVM can build (heap"),
                heap.getMessage());
    }

    @Test
    void theEstimateRefusesTheJobTheKernelKilledAndKeepsTheDefaultJob() {
        // adding/gru at batch 1,000,000 peaked above 24 GB and was killed without a message on a 25.3 GB machine:
        // 2.7 times what the first estimate (per step: the input and 5 x hidden) said, 19.4 GB
        long machine = 25_300_000_000L;
        long heap = 6_000_000_000L;
        Footprint gru = Tasks.create("adding", TaskOptions.defaults()).footprint("gru");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gru.requireFits(1_000_000, 1, machine, heap));
        assertTrue(e.getMessage().startsWith("this job needs about 54.0 GB of memory"), e.getMessage());
        assertDoesNotThrow(() -> gru.requireFits(64, 1, 2_000_000_000L, heap));
        // the measured growth per sequence at hidden 32, length 30 (scripts/footprint_calibrate.sh): the estimate
        // is at least that, and within a fifth of it
        double[] measured = {5_628, 13_290, 14_781}; // the larger of two runs
        String[] models = {"rnn", "gru", "lstm"};
        for (int i = 0; i < models.length; i++) {
            double estimate = Tasks.create("adding", TaskOptions.defaults()).footprint(models[i]).floatsPerSequence();
            assertTrue(estimate >= measured[i] && estimate <= 1.2 * measured[i], models[i] + ": " + estimate);
        }
        double transformer = Tasks.create("adding", TaskOptions.defaults()).footprint("transformer").floatsPerSequence();
        assertTrue(transformer >= 100_660 && transformer <= 1.2 * 100_660, "transformer: " + transformer);
    }
}
