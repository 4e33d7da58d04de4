package dev.gradguard.task;

import dev.gradguard.session.Evaluation;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Model;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AddingTaskTest {
    private static final int LENGTH = 30;
    private static final int BATCH = 200;

    @BeforeAll
    static void load() {
        Torch.load();
    }

    private static AddingTask task(int length) {
        return new AddingTask(TaskOptions.defaults().withLength(length).withEvalSamples(4000));
    }

    @Test
    void oneMarkerInEachHalfAndTheTargetIsTheSumOfTheMarkedValues() {
        Batch batch = task(LENGTH).trainingData(7, BATCH).next();
        assertArrayEquals(new long[] {LENGTH, BATCH, 2}, batch.input().sizes().vec().get());
        assertArrayEquals(new long[] {BATCH, 1}, batch.target().sizes().vec().get());
        float[] x = Tensors.toFloats(batch.input());
        float[] y = Tensors.toFloats(batch.target());
        for (int b = 0; b < BATCH; b++) {
            int firstHalf = 0;
            int secondHalf = 0;
            double sum = 0;
            for (int t = 0; t < LENGTH; t++) {
                float marker = x[(t * BATCH + b) * 2];
                float value = x[(t * BATCH + b) * 2 + 1];
                assertTrue(marker == 0f || marker == 1f);
                assertTrue(value >= 0f && value < 1f);
                if (marker == 1f) {
                    sum += value;
                    if (t < LENGTH / 2) {
                        firstHalf++;
                    } else {
                        secondHalf++;
                    }
                }
            }
            assertEquals(1, firstHalf, "markers in the first half of sequence " + b);
            assertEquals(1, secondHalf, "markers in the second half of sequence " + b);
            assertEquals(sum, y[b], 1e-6);
        }
    }

    @Test
    void valuesAreUniformAndMarkersCoverBothHalves() {
        float[] x = Tensors.toFloats(task(10).trainingData(8, 2000).next().input());
        double mean = 0;
        int[] markersAt = new int[10];
        for (int i = 0; i < x.length / 2; i++) {
            mean += x[2 * i + 1];
            if (x[2 * i] == 1f) {
                markersAt[i / 2000]++;
            }
        }
        assertEquals(0.5, mean / (x.length / 2), 0.01);
        for (int t = 0; t < 10; t++) {
            // each position of a half is marked in about 2000 / 5 sequences
            assertEquals(400, markersAt[t], 80, "markers at step " + t);
        }
    }

    @Test
    void oddLengthsPutTheMiddleStepInTheSecondHalf() {
        float[] x = Tensors.toFloats(task(3).trainingData(9, 500).next().input());
        for (int b = 0; b < 500; b++) {
            assertEquals(1f, x[b * 2], "the first half of length 3 is step 0 alone");
            assertEquals(1f, x[(500 + b) * 2] + x[(1000 + b) * 2]);
        }
    }

    @Test
    void sameSeedSameBatchesOtherSeedOtherBatches() {
        float[] a = Tensors.toFloats(task(LENGTH).trainingData(3, 16).next().input());
        float[] b = Tensors.toFloats(task(LENGTH).trainingData(3, 16).next().input());
        float[] c = Tensors.toFloats(task(LENGTH).trainingData(4, 16).next().input());
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, c));
    }

    @Test
    void restoredStateContinuesWithTheIdenticalNextBatch() {
        BatchSource source = task(LENGTH).trainingData(11, 8);
        source.next();
        Map<String, Object> saved = source.stateDict();
        Batch expected = source.next();
        BatchSource resumed = task(LENGTH).trainingData(999, 8);
        resumed.loadStateDict(saved);
        Batch actual = resumed.next();
        assertArrayEquals(Tensors.toFloats(expected.input()), Tensors.toFloats(actual.input()));
        assertArrayEquals(Tensors.toFloats(expected.target()), Tensors.toFloats(actual.target()));
        assertNotEquals(saved, source.stateDict());
    }

    @Test
    void predictingTheMeanScoresTheBaselineAndZeroScoresItPlusOne() {
        AddingTask task = task(LENGTH);
        Evaluation mean = task.evaluate(constant(1.0));
        assertEquals("test_mse", mean.metric());
        assertEquals(1.0 / 6.0, mean.baseline(), 1e-12);
        assertEquals(1.0 / 6.0, mean.value(), 0.01);
        assertFalse(mean.learned());
        assertEquals("test_mse < 0.01", mean.criterion());
        // E[(U1 + U2 - 0)^2] = Var + mean^2 = 1/6 + 1
        assertEquals(7.0 / 6.0, task.evaluate(constant(0.0)).value(), 0.03);
    }

    @Test
    void theExactSumIsLearned() {
        Evaluation e = task(LENGTH).evaluate(new Model() {
            private final org.bytedeco.pytorch.Module module = new org.bytedeco.pytorch.Module();

            @Override
            public org.bytedeco.pytorch.Module module() {
                return module;
            }

            @Override
            public Tensor forward(Tensor x) {
                return x.select(2, 0).mul(x.select(2, 1)).sum(0).unsqueeze(1);
            }
        });
        assertEquals(0.0, e.value(), 1e-10);
        assertTrue(e.learned());
    }

    @Test
    void anUntrainedModelIsFarFromLearning() {
        torch.manual_seed(0);
        AddingTask task = task(LENGTH);
        Evaluation e = task.evaluate(task.createModel("gru"));
        assertTrue(e.value() > e.baseline() && e.value() < 3, "untrained test_mse " + e.value());
        assertFalse(e.learned());
    }

    @Test
    void evaluationIsTheSameForEveryCallAndLeavesTheModelTraining() {
        torch.manual_seed(0);
        AddingTask task = task(LENGTH);
        Model model = task.createModel("lstm");
        assertEquals(task.evaluate(model).value(), task.evaluate(model).value());
        assertTrue(model.module().is_training());
    }

    @Test
    void lengthBelowTwoIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> task(1));
        assertEquals("length must be at least 2 for task adding, got 1", e.getMessage());
    }

    static Model constant(double value) {
        return new Model() {
            private final org.bytedeco.pytorch.Module module = new org.bytedeco.pytorch.Module();

            @Override
            public org.bytedeco.pytorch.Module module() {
                return module;
            }

            @Override
            public Tensor forward(Tensor x) {
                return torch.ones(x.size(1), 1).mul(new org.bytedeco.pytorch.Scalar(value));
            }
        };
    }
}
