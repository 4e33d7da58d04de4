package dev.gradguard.task;

import dev.gradguard.session.Evaluation;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

class TemporalOrderTaskTest {
    private static final int BATCH = 400;

    @BeforeAll
    static void load() {
        Torch.load();
    }

    private static TemporalOrderTask task(int length) {
        return new TemporalOrderTask(TaskOptions.defaults().withLength(length).withEvalSamples(4000));
    }

    /** The symbol at each step of each sequence, checking that every step is one-hot. */
    private static int[][] symbols(Tensor input) {
        int length = (int) input.size(0);
        int batch = (int) input.size(1);
        float[] x = Tensors.toFloats(input);
        int[][] s = new int[batch][length];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < length; t++) {
                int hot = -1;
                for (int k = 0; k < 6; k++) {
                    float v = x[(t * batch + b) * 6 + k];
                    assertTrue(v == 0f || v == 1f);
                    if (v == 1f) {
                        assertEquals(-1, hot, "two symbols at step " + t);
                        hot = k;
                    }
                }
                assertTrue(hot >= 0, "no symbol at step " + t);
                s[b][t] = hot;
            }
        }
        return s;
    }

    @Test
    void relevantSymbolsSitInTheirWindowsAndTheClassIsV0PlusTwoV1() {
        Batch batch = task(30).trainingData(5, BATCH).next();
        assertArrayEquals(new long[] {30, BATCH, 6}, batch.input().sizes().vec().get());
        assertArrayEquals(new long[] {BATCH}, batch.target().sizes().vec().get());
        int[][] s = symbols(batch.input());
        double[] y = Tensors.toDoubles(batch.target());
        int[] classCounts = new int[4];
        for (int b = 0; b < BATCH; b++) {
            int v0 = -1;
            int v1 = -1;
            for (int t = 0; t < 30; t++) {
                if (s[b][t] < 2) {
                    if (t >= 3 && t < 6) {
                        assertEquals(-1, v0, "two relevant symbols in [3, 6)");
                        v0 = s[b][t];
                    } else if (t >= 15 && t < 18) {
                        assertEquals(-1, v1, "two relevant symbols in [15, 18)");
                        v1 = s[b][t];
                    } else {
                        throw new AssertionError("relevant symbol at step " + t + " of sequence " + b);
                    }
                }
            }
            assertTrue(v0 >= 0 && v1 >= 0, "sequence " + b + " misses a relevant symbol");
            assertEquals(v0 + 2 * v1, (int) y[b]);
            classCounts[(int) y[b]]++;
        }
        for (int c : classCounts) {
            assertEquals(BATCH / 4, c, 40);
        }
    }

    @Test
    void windowsFollowTheTenthsOfTheLengthRoundedUp() {
        // length 25: 0.1 L = 2.5 and 0.2 L = 5 give positions 3, 4; 0.5 L = 12.5 and 0.6 L = 15 give 13, 14
        int[][] s = symbols(task(25).trainingData(6, 1000).next().input());
        boolean[] seen = new boolean[25];
        for (int[] seq : s) {
            for (int t = 0; t < 25; t++) {
                if (seq[t] < 2) {
                    seen[t] = true;
                }
            }
        }
        boolean[] expected = new boolean[25];
        expected[3] = expected[4] = expected[13] = expected[14] = true;
        assertArrayEquals(expected, seen);
    }

    @Test
    void restoredStateContinuesWithTheIdenticalNextBatch() {
        BatchSource source = task(30).trainingData(12, 8);
        source.next();
        Map<String, Object> saved = source.stateDict();
        Batch expected = source.next();
        BatchSource resumed = task(30).trainingData(0, 8);
        resumed.loadStateDict(saved);
        Batch actual = resumed.next();
        assertArrayEquals(Tensors.toFloats(expected.input()), Tensors.toFloats(actual.input()));
        assertArrayEquals(Tensors.toDoubles(expected.target()), Tensors.toDoubles(actual.target()));
    }

    @Test
    void sameSeedSameBatches() {
        assertArrayEquals(Tensors.toFloats(task(30).trainingData(3, 16).next().input()),
                Tensors.toFloats(task(30).trainingData(3, 16).next().input()));
    }

    @Test
    void anUntrainedModelScoresAboutTheBaseline() {
        torch.manual_seed(0);
        TemporalOrderTask task = task(30);
        Evaluation e = task.evaluate(task.createModel("gru"));
        assertEquals("error_rate", e.metric());
        assertEquals(0.75, e.baseline());
        assertEquals(0.75, e.value(), 0.05);
        assertFalse(e.learned());
        assertEquals("error_rate < 0.01", e.criterion());
    }

    @Test
    void readingTheRelevantSymbolsIsLearned() {
        Evaluation e = task(30).evaluate(new Model() {
            private final org.bytedeco.pytorch.Module module = new org.bytedeco.pytorch.Module();

            @Override
            public org.bytedeco.pytorch.Module module() {
                return module;
            }

            @Override
            public Tensor forward(Tensor x) {
                // B-indicator summed over each window gives v0 and v1; one-hot of v0 + 2 v1 as logits
                Tensor v0 = x.narrow(0, 3, 3).select(2, 1).sum(0);
                Tensor v1 = x.narrow(0, 15, 3).select(2, 1).sum(0);
                Tensor cls = v0.add(v1.mul(new org.bytedeco.pytorch.Scalar(2.0))).to(torch.ScalarType.Long);
                return torch.one_hot(cls, 4).to(torch.ScalarType.Float);
            }
        });
        assertEquals(0.0, e.value());
        assertTrue(e.learned());
    }

    @Test
    void tooShortLengthsAreRejected() {
        task(6);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> task(5));
        assertEquals("length must be at least 6 for task temporal-order, got 5", e.getMessage());
    }
}
