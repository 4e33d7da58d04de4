package dev.gradguard.task;

import dev.gradguard.session.Evaluation;
import dev.gradguard.data.Batch;
import dev.gradguard.data.Rng;
import dev.gradguard.engine.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The temporal order problem (Hochreiter and Schmidhuber 1997, as in Pascanu, Mikolov and Bengio, ICML
 * 2013). Input {@code [length, batch, 6]}, one-hot symbols: symbols 0 and 1 (A, B) are relevant and occur
 * once each at a position in {@code [0.1 length, 0.2 length)} and one in
 * {@code [0.5 length, 0.6 length)}; every other position holds a distractor, 2 to 5. The target is one
 * of 4 classes, {@code v0 + 2 v1} for the relevant symbols {@code v0}, {@code v1} in order of position; the
 * loss is cross-entropy on the logits.
 *
 * <p>Metric {@code error_rate}: the fraction of {@code evalSamples} held-out sequences whose arg-max class
 * is wrong. Guessing scores 0.75, the baseline. Learned when {@code error_rate < 0.01}, the paper's
 * success criterion.
 */
public final class TemporalOrderTask extends SyntheticSequenceTask {
    /** The sequence length when none is set: long enough that SGD at the default job's learning rate needs clipping. */
    public static final int DEFAULT_LENGTH = 100;

    public static final String NAME = "temporal-order";
    static final int SYMBOLS = 6;
    static final int CLASSES = 4;
    static final double THRESHOLD = 0.01;

    private final int firstFrom;
    private final int firstTo;
    private final int secondFrom;
    private final int secondTo;

    /** @throws IllegalArgumentException if a relevant window holds no position, i.e. {@code length < 6} */
    public TemporalOrderTask(TaskOptions options) {
        super(options, DEFAULT_LENGTH);
        // integer positions p with p >= k/10 * length are those with p >= ceil(k * length / 10)
        firstFrom = ceilTenths(1);
        firstTo = ceilTenths(2);
        secondFrom = ceilTenths(5);
        secondTo = ceilTenths(6);
        if (firstFrom >= firstTo || secondFrom >= secondTo) {
            throw new IllegalArgumentException("length must be at least 6 for task " + NAME + ", got " + length);
        }
    }

    private int ceilTenths(int tenths) {
        return (tenths * length + 9) / 10;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    int inputSize() {
        return SYMBOLS;
    }

    @Override
    int outputs() {
        return CLASSES;
    }

    @Override
    Batch generate(Rng rng, int batchSize) {
        float[] input = new float[length * batchSize * SYMBOLS];
        long[] target = new long[batchSize];
        for (int b = 0; b < batchSize; b++) {
            int[] symbol = new int[length];
            for (int t = 0; t < length; t++) {
                symbol[t] = 2 + rng.nextInt(4);
            }
            int v0 = rng.nextInt(2);
            int v1 = rng.nextInt(2);
            symbol[rng.nextInt(firstFrom, firstTo)] = v0;
            symbol[rng.nextInt(secondFrom, secondTo)] = v1;
            for (int t = 0; t < length; t++) {
                input[(t * batchSize + b) * SYMBOLS + symbol[t]] = 1f;
            }
            target[b] = v0 + 2L * v1;
        }
        return new Batch(Tensors.fromFloats(input, length, batchSize, SYMBOLS), Tensors.fromLongs(target, batchSize));
    }

    @Override
    public Tensor loss(Tensor output, Tensor target) {
        return torch.cross_entropy(output, target);
    }

    @Override
    double metricSum(Tensor output, Tensor target) {
        return torch.argmax(output, new org.bytedeco.pytorch.LongOptional(1), false).ne(target).sum().item_double();
    }

    @Override
    Evaluation judge(double errorRate) {
        return new Evaluation("error_rate", errorRate, 0.75, errorRate < THRESHOLD, "error_rate < " + THRESHOLD);
    }
}
