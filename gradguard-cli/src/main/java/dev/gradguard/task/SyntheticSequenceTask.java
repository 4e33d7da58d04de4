package dev.gradguard.task;

import dev.gradguard.session.Evaluation;
import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.data.Rng;
import dev.gradguard.model.Model;
import dev.gradguard.model.RecurrentNet;
import dev.gradguard.model.TransformerEncoderNet;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * A task whose sequences are generated on the fly ({@code adding}, {@code temporal-order}): every training
 * batch is fresh, and evaluation scores {@code evalSamples} sequences drawn from a fixed held-out stream
 * ({@link #HELD_OUT_SEED}) that no training seed shares, so the result is the same for every run.
 */
abstract class SyntheticSequenceTask implements Task {

    /** Seed of the held-out stream. Training streams start at the run's seed instead. */
    static final long HELD_OUT_SEED = 0x6a09e667f3bcc908L;
    static final int DEFAULT_HIDDEN = 32;
    /** The default size of model {@code transformer}: width 32, 2 blocks of 4 heads. */
    static final TransformerSize DEFAULT_TRANSFORMER = new TransformerSize(32, 2, 4);
    /**
     * The recurrent models in the order they train these tasks best with SGD (a 32-unit GRU learns temporal
     * order and adding at length 30 within a few hundred steps; LSTM and tanh RNN learn far slower or not at
     * all), then a Transformer encoder read out at the last position.
     */
    static final List<String> MODELS = List.of("gru", "lstm", "rnn", TransformerSize.MODEL);
    private static final int EVAL_CHUNK = 1000;

    final int length;
    final int evalSamples;
    private final TaskOptions options;

    SyntheticSequenceTask(TaskOptions options, int defaultLength) {
        this.length = options.lengthOr(defaultLength);
        this.evalSamples = options.evalSamples();
        this.options = options;
    }

    /** Input features per time step. */
    abstract int inputSize();

    /** Outputs of the model's head. */
    abstract int outputs();

    /** A batch of {@code batchSize} sequences drawn from {@code rng}. */
    abstract Batch generate(Rng rng, int batchSize);

    /** The per-sequence metric summed over a batch. */
    abstract double metricSum(Tensor output, Tensor target);

    /** The evaluation for a metric averaged over the held-out sequences. */
    abstract Evaluation judge(double metric);

    @Override
    public List<String> models() {
        return MODELS;
    }

    @Override
    public Model createModel(String modelName) {
        requireModel(modelName);
        TransformerSize.checkOnlyForTransformer(options, name(), modelName);
        if (modelName.equals(TransformerSize.MODEL)) {
            TransformerSize size = TransformerSize.resolve(options, DEFAULT_TRANSFORMER);
            return new TransformerEncoderNet(inputSize(), length, size.width(), size.layers(), size.heads(), outputs());
        }
        return new RecurrentNet(RecurrentNet.Cell.of(modelName), inputSize(), options.hiddenOr(DEFAULT_HIDDEN), outputs());
    }

    private void requireModel(String modelName) {
        if (!MODELS.contains(modelName)) {
            throw new IllegalArgumentException("unknown model '" + modelName + "' for task " + name()
                    + ", allowed: " + String.join(", ", MODELS));
        }
    }

    @Override
    public java.util.Map<String, Object> resolvedSizes(String modelName) {
        if (!modelName.equals(ModelFile.MODEL)) {
            requireModel(modelName);
            TransformerSize.checkOnlyForTransformer(options, name(), modelName);
        }
        return TransformerSize.recorded(options, modelName, DEFAULT_TRANSFORMER, DEFAULT_HIDDEN, length);
    }

    @Override
    public Footprint footprint(String modelName) {
        requireModel(modelName);
        if (modelName.equals(TransformerSize.MODEL)) {
            TransformerSize size = TransformerSize.resolve(options, DEFAULT_TRANSFORMER);
            // input projection, positions, blocks, final LayerNorm, head
            long parameters = ((long) inputSize() + 1) * size.width() + (long) length * size.width()
                    + Footprint.transformerBlockParameters(size) + 2L * size.width()
                    + (long) size.width() * outputs() + outputs();
            return new Footprint(parameters, Footprint.transformerFloatsPerSequence(size, length),
                    (double) length * inputSize(), Math.min(EVAL_CHUNK, evalSamples));
        }
        int hidden = options.hiddenOr(DEFAULT_HIDDEN);
        int gates = Footprint.gates(modelName);
        long parameters = Footprint.recurrentParameters(gates, inputSize(), hidden) + (long) hidden * outputs() + outputs();
        // per time step: the input, and what the recurrent layer holds for and during backward
        double perSequence = (double) length * (inputSize() + Footprint.recurrentFloatsPerStep(modelName, hidden));
        return new Footprint(parameters, perSequence, (double) length * inputSize(), Math.min(EVAL_CHUNK, evalSamples));
    }

    /** {@code [batchSize, outputs]}, the head's outputs for the whole sequence. */
    @Override
    public long[] modelFileOutputShape(int batchSize) {
        return new long[] {batchSize, outputs()};
    }

    @Override
    public BatchSource trainingData(long seed, int batchSize) {
        return new GeneratedBatches(seed, batchSize, this::generate);
    }

    @Override
    public Evaluation evaluate(Model model) {
        Rng rng = new Rng(HELD_OUT_SEED);
        double sum = 0;
        boolean wasTraining = model.module().is_training();
        model.module().eval();
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int done = 0; done < evalSamples; done += EVAL_CHUNK) {
                try (PointerScope scope = new PointerScope()) {
                    Batch batch = generate(rng, Math.min(EVAL_CHUNK, evalSamples - done));
                    sum += metricSum(model.forward(batch.input()), batch.target());
                }
            }
        } finally {
            model.module().train(wasTraining);
        }
        return judge(sum / evalSamples);
    }
}
