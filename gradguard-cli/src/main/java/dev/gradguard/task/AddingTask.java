package dev.gradguard.task;

import dev.gradguard.session.Evaluation;
import dev.gradguard.data.Batch;
import dev.gradguard.data.Rng;
import dev.gradguard.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The adding problem, sum variant (Hochreiter and Schmidhuber 1997; the layout of Le, Jaitly and Hinton's
 * IRNN paper, 2015). Input {@code [length, batch, 2]}: channel 0 is a marker that is 1 at exactly one
 * position of the first half {@code [0, length/2)} and one of the second half {@code [length/2, length)},
 * 0 elsewhere; channel 1 holds values drawn from U[0, 1). The target {@code [batch, 1]} is the sum of the
 * two marked values; the loss is the mean squared error.
 *
 * <p>Metric {@code test_mse} on {@code evalSamples} held-out sequences. Always predicting the mean, 1,
 * scores {@code Var(U1 + U2) = 1/6}, the baseline. Learned when {@code test_mse < 0.01}: a sixteenth of the
 * baseline, which no predictor reaches without reading both marked values (knowing one of them leaves
 * the other's variance, 1/12).
 */
public final class AddingTask extends SyntheticSequenceTask {
    /** The sequence length when none is set. */
    public static final int DEFAULT_LENGTH = 30;

    public static final String NAME = "adding";
    static final double THRESHOLD = 0.01;

    /** @throws IllegalArgumentException if {@code options.length() < 2} */
    public AddingTask(TaskOptions options) {
        super(options, DEFAULT_LENGTH);
        if (length < 2) {
            throw new IllegalArgumentException("length must be at least 2 for task " + NAME + ", got " + length);
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    int inputSize() {
        return 2;
    }

    @Override
    int outputs() {
        return 1;
    }

    @Override
    Batch generate(Rng rng, int batchSize) {
        int half = length / 2;
        float[] input = new float[length * batchSize * 2];
        float[] target = new float[batchSize];
        for (int b = 0; b < batchSize; b++) {
            int first = rng.nextInt(0, half);
            int second = rng.nextInt(half, length);
            for (int t = 0; t < length; t++) {
                input[(t * batchSize + b) * 2 + 1] = (float) rng.nextDouble();
            }
            input[(first * batchSize + b) * 2] = 1f;
            input[(second * batchSize + b) * 2] = 1f;
            target[b] = input[(first * batchSize + b) * 2 + 1] + input[(second * batchSize + b) * 2 + 1];
        }
        return new Batch(Tensors.fromFloats(input, length, batchSize, 2), Tensors.fromFloats(target, batchSize, 1));
    }

    @Override
    public Tensor loss(Tensor output, Tensor target) {
        return torch.mse_loss(output, target);
    }

    @Override
    double metricSum(Tensor output, Tensor target) {
        return output.sub(target).square().sum().item_double();
    }

    @Override
    Evaluation judge(double mse) {
        return new Evaluation("test_mse", mse, 1.0 / 6.0, mse < THRESHOLD, "test_mse < " + THRESHOLD);
    }
}
