package dev.gradguard.task;

import dev.gradguard.session.Evaluation;
import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.engine.Tensors;
import dev.gradguard.model.CharLstm;
import dev.gradguard.model.CharTransformer;
import dev.gradguard.model.Model;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Character-level language modelling on a UTF-8 text file (the natural-data task of Pascanu, Mikolov and
 * Bengio, ICML 2013, who report bits per character on Penn Treebank). Models: {@code lstm}, a character
 * LSTM ({@link CharLstm}, 128 hidden units by default), and {@code transformer}, a GPT-style causal decoder
 * ({@link CharTransformer} over windows of {@code seqLen}; by default width 64, 2 blocks, 4 heads).
 *
 * <p>The vocabulary is the file's distinct characters; the last 10% of the file is held out. A training
 * batch is {@code batch} windows of {@code seqLen} characters starting at positions drawn uniformly from
 * the training split, inputs {@code [seqLen, batch]} and the next characters as targets; the loss is
 * the mean cross-entropy over all steps.
 *
 * <p>Metric {@code bits_per_char} on the held-out split: the split is cut into consecutive windows of
 * {@code seqLen} predictions, each starting from a zero state, and the cross-entropy of every next
 * character is averaged and divided by ln 2. The baseline is the entropy of the training split's character
 * frequencies, the best a model ignoring context can do. Learned when {@code bits_per_char} is at least
 * 0.5 below the baseline: a context-free model cannot get there, and for English it asks for about what
 * one or two characters of context buy (Shannon, "Prediction and entropy of printed English", 1951:
 * 4.14 bits per letter from letter frequencies, 3.56 given the previous letter, 3.3 given two).
 */
public final class CharLmTask implements Task {
    public static final String NAME = "charlm";
    static final int DEFAULT_HIDDEN = 128;
    static final TransformerSize DEFAULT_TRANSFORMER = new TransformerSize(64, 2, 4);
    static final int EMBEDDING = 32;
    static final double MARGIN_BITS = 0.5;
    private static final int EVAL_WINDOWS_PER_BATCH = 256;

    private final Path path;
    private final TextCorpus corpus;
    private final int seqLen;
    private final TaskOptions options;
    private final double baseline;

    /**
     * @throws IllegalArgumentException if {@code options.dataPath()} is empty
     * @throws DataException if the data file cannot be used; see {@link TextCorpus#load}
     */
    public CharLmTask(TaskOptions options) {
        this.path = options.dataPath().orElseThrow(() -> new IllegalArgumentException(
                "task " + NAME + " needs a UTF-8 text file: set dataPath (--data PATH)"));
        this.seqLen = options.seqLen();
        this.options = options;
        this.corpus = TextCorpus.load(path, seqLen);
        this.baseline = corpus.trainUnigramBits();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> models() {
        return List.of("lstm", TransformerSize.MODEL);
    }

    /** The data file. */
    public Path dataPath() {
        return path;
    }

    /** Number of distinct characters in the file. */
    public int vocabularySize() {
        return corpus.vocabularySize();
    }

    TextCorpus corpus() {
        return corpus;
    }

    @Override
    public Model createModel(String modelName) {
        requireModel(modelName);
        TransformerSize.checkOnlyForTransformer(options, NAME, modelName);
        if (modelName.equals(TransformerSize.MODEL)) {
            TransformerSize size = TransformerSize.resolve(options, DEFAULT_TRANSFORMER);
            return new CharTransformer(corpus.vocabularySize(), seqLen, size.width(), size.layers(), size.heads());
        }
        return new CharLstm(corpus.vocabularySize(), EMBEDDING, options.hiddenOr(DEFAULT_HIDDEN));
    }

    @Override
    public java.util.Map<String, Object> resolvedSizes(String modelName) {
        if (!modelName.equals(ModelFile.MODEL)) {
            requireModel(modelName);
            TransformerSize.checkOnlyForTransformer(options, NAME, modelName);
        }
        return TransformerSize.recorded(options, modelName, DEFAULT_TRANSFORMER, DEFAULT_HIDDEN, seqLen);
    }

    @Override
    public Footprint footprint(String modelName) {
        requireModel(modelName);
        long vocabulary = corpus.vocabularySize();
        if (modelName.equals(TransformerSize.MODEL)) {
            TransformerSize size = TransformerSize.resolve(options, DEFAULT_TRANSFORMER);
            long parameters = vocabulary * size.width() + (long) seqLen * size.width()
                    + Footprint.transformerBlockParameters(size) + 2L * size.width();
            double perSequence = Footprint.transformerFloatsPerSequence(size, seqLen)
                    + seqLen * Footprint.logitFloatsPerStep(vocabulary);
            return new Footprint(parameters, perSequence, 4.0 * seqLen, EVAL_WINDOWS_PER_BATCH);
        }
        long hidden = options.hiddenOr(DEFAULT_HIDDEN);
        long parameters = vocabulary * EMBEDDING + Footprint.recurrentParameters(4, EMBEDDING, hidden)
                + hidden * vocabulary + vocabulary;
        // per time step: the embedding, what the LSTM holds for and during backward, the logits
        double perSequence = (double) seqLen * (EMBEDDING + Footprint.recurrentFloatsPerStep("lstm", hidden)
                + Footprint.logitFloatsPerStep(vocabulary));
        return new Footprint(parameters, perSequence, 4.0 * seqLen, EVAL_WINDOWS_PER_BATCH); // input and target as longs
    }

    private void requireModel(String modelName) {
        if (!models().contains(modelName)) {
            throw new IllegalArgumentException("unknown model '" + modelName + "' for task " + NAME
                    + ", allowed: " + String.join(", ", models()));
        }
    }

    /** {@code [batchSize, window, vocabulary]}: logits at every step, step {@code t} predicting token {@code t + 1}. */
    @Override
    public long[] modelFileOutputShape(int batchSize) {
        return new long[] {batchSize, seqLen, corpus.vocabularySize()};
    }

    @Override
    public BatchSource trainingData(long seed, int batchSize) {
        int[] train = corpus.train();
        int starts = train.length - seqLen;
        return new GeneratedBatches(seed, batchSize, (rng, size) -> {
            long[] input = new long[seqLen * size];
            long[] target = new long[seqLen * size];
            for (int b = 0; b < size; b++) {
                int start = rng.nextInt(starts);
                for (int t = 0; t < seqLen; t++) {
                    input[t * size + b] = train[start + t];
                    target[t * size + b] = train[start + t + 1];
                }
            }
            return new Batch(Tensors.fromLongs(input, seqLen, size), Tensors.fromLongs(target, seqLen, size));
        });
    }

    /** Mean cross-entropy (nats) of logits {@code [time, batch, vocabulary]} against ids {@code [time, batch]}. */
    @Override
    public Tensor loss(Tensor output, Tensor target) {
        return torch.cross_entropy(output.reshape(-1, output.size(2)), target.reshape(-1));
    }

    @Override
    public Evaluation evaluate(Model model) {
        int[] held = corpus.heldOut();
        int predictions = held.length - 1;
        int fullWindows = predictions / seqLen;
        int tail = predictions % seqLen;
        double nats = 0;
        boolean wasTraining = model.module().is_training();
        model.module().eval();
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int w = 0; w < fullWindows; w += EVAL_WINDOWS_PER_BATCH) {
                nats += windowNats(model, held, w * seqLen, seqLen, Math.min(EVAL_WINDOWS_PER_BATCH, fullWindows - w));
            }
            if (tail > 0) {
                nats += windowNats(model, held, fullWindows * seqLen, tail, 1);
            }
        } finally {
            model.module().train(wasTraining);
        }
        double bpc = nats / predictions / Math.log(2);
        double threshold = baseline - MARGIN_BITS;
        return new Evaluation("bits_per_char", bpc, baseline, bpc < threshold,
                String.format(Locale.ROOT, "bits_per_char < %.4f (baseline - %.1f)", threshold, MARGIN_BITS));
    }

    /** Summed cross-entropy (nats) of {@code count} consecutive windows of {@code length} predictions. */
    private static double windowNats(Model model, int[] ids, int from, int length, int count) {
        long[] input = new long[length * count];
        long[] target = new long[length * count];
        for (int b = 0; b < count; b++) {
            int start = from + b * length;
            for (int t = 0; t < length; t++) {
                input[t * count + b] = ids[start + t];
                target[t * count + b] = ids[start + t + 1];
            }
        }
        try (PointerScope scope = new PointerScope()) {
            Tensor logits = model.forward(Tensors.fromLongs(input, length, count));
            Tensor mean = torch.cross_entropy(logits.reshape(-1, logits.size(2)), Tensors.fromLongs(target, length, count).reshape(-1));
            return mean.item_double() * length * count;
        }
    }
}
