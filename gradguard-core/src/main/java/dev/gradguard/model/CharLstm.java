package dev.gradguard.model;

import dev.gradguard.engine.Torch;
import org.bytedeco.pytorch.EmbeddingImpl;
import org.bytedeco.pytorch.LSTMImpl;
import org.bytedeco.pytorch.LSTMOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Tensor;

/**
 * A character-level LSTM language model: embedding, one LSTM layer, and a linear layer over the
 * vocabulary at every step. Input int64 token ids {@code [time, batch]}; output logits
 * {@code [time, batch, vocabulary]}, where step {@code t} predicts token {@code t + 1}. Every sequence
 * starts from a zero state.
 *
 * <p>Default libtorch initialisation; parameters are named {@code embedding.*}, {@code lstm.*},
 * {@code head.*}.
 */
public final class CharLstm implements Model {
    private final org.bytedeco.pytorch.Module module;
    private final EmbeddingImpl embedding;
    private final LSTMImpl lstm;
    private final LinearImpl head;
    private final int vocabulary;

    /**
     * @param vocabulary number of distinct tokens, at least 1
     * @param embeddingSize width of a token's embedding, at least 1
     * @param hidden LSTM hidden units, at least 1
     * @throws IllegalArgumentException if a size is below 1
     */
    public CharLstm(int vocabulary, int embeddingSize, int hidden) {
        RecurrentNet.requirePositive("vocabulary", vocabulary);
        RecurrentNet.requirePositive("embeddingSize", embeddingSize);
        RecurrentNet.requirePositive("hidden", hidden);
        Torch.load();
        this.vocabulary = vocabulary;
        this.module = new org.bytedeco.pytorch.Module("CharLstm");
        this.embedding = module.register_module("embedding", new EmbeddingImpl(vocabulary, embeddingSize));
        this.lstm = module.register_module("lstm", new LSTMImpl(new LSTMOptions(embeddingSize, hidden)));
        this.head = module.register_module("head", new LinearImpl(hidden, vocabulary));
    }

    public int vocabulary() {
        return vocabulary;
    }

    @Override
    public org.bytedeco.pytorch.Module module() {
        return module;
    }

    /**
     * @param tokens int64 {@code [time, batch]} with values in {@code [0, vocabulary)}
     * @return logits {@code [time, batch, vocabulary]}
     */
    @Override
    public Tensor forward(Tensor tokens) {
        return head.forward(lstm.forward(embedding.forward(tokens)).get0());
    }
}
