package dev.gradguard.model;

import dev.gradguard.engine.Torch;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.GRUImpl;
import org.bytedeco.pytorch.GRUOptions;
import org.bytedeco.pytorch.LSTMImpl;
import org.bytedeco.pytorch.LSTMOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.RNNImpl;
import org.bytedeco.pytorch.RNNOptions;
import org.bytedeco.pytorch.Tensor;

/**
 * A one-layer recurrent network read out at the end: input {@code [time, batch, features]}, a recurrent
 * layer, and a linear head on the hidden state of the LAST time step, giving {@code [batch, outputs]}.
 * This is the model of the exploding-gradient benchmarks (Pascanu, Mikolov and Bengio, ICML 2013).
 *
 * <p>All layers keep libtorch's default initialisation (uniform in {@code ±1/sqrt(hidden)} for the
 * recurrent layer, PyTorch's Kaiming-uniform for the head); call {@code torch.manual_seed} before
 * construction for reproducible weights. Parameters are named {@code rnn.*} and {@code head.*}.
 */
public final class RecurrentNet implements Model {

    /** The recurrent cell. */
    public enum Cell {
        /** Elman RNN with tanh, {@code h' = tanh(W x + U h + b)}. */
        RNN,
        /** Long short-term memory (Hochreiter and Schmidhuber 1997), as {@code torch.nn.LSTM}. */
        LSTM,
        /** Gated recurrent unit (Cho et al. 2014), as {@code torch.nn.GRU}. */
        GRU;

        /** The cell's name as a task's model list spells it: {@code rnn}, {@code lstm}, {@code gru}. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * The cell named {@code id} (case-insensitive).
         *
         * @throws IllegalArgumentException naming the allowed cells if {@code id} is none of them
         */
        public static Cell of(String id) {
            for (Cell c : values()) {
                if (c.id().equalsIgnoreCase(id)) {
                    return c;
                }
            }
            List<String> allowed = Arrays.stream(values()).map(Cell::id).toList();
            throw new IllegalArgumentException("unknown cell '" + id + "', allowed: " + String.join(", ", allowed));
        }
    }

    private final Cell cell;
    private final org.bytedeco.pytorch.Module module;
    private final RNNImpl rnn;
    private final LSTMImpl lstm;
    private final GRUImpl gru;
    private final LinearImpl head;

    /**
     * @param cell the recurrent cell
     * @param inputSize features per time step, at least 1
     * @param hidden hidden units, at least 1
     * @param outputs outputs of the linear head, at least 1
     * @throws IllegalArgumentException if a size is below 1
     */
    public RecurrentNet(Cell cell, int inputSize, int hidden, int outputs) {
        requirePositive("inputSize", inputSize);
        requirePositive("hidden", hidden);
        requirePositive("outputs", outputs);
        Torch.load();
        this.cell = cell;
        this.module = new org.bytedeco.pytorch.Module("RecurrentNet");
        RNNImpl r = null;
        LSTMImpl l = null;
        GRUImpl g = null;
        switch (cell) {
            case RNN -> r = module.register_module("rnn", new RNNImpl(new RNNOptions(inputSize, hidden)));
            case LSTM -> l = module.register_module("rnn", new LSTMImpl(new LSTMOptions(inputSize, hidden)));
            case GRU -> g = module.register_module("rnn", new GRUImpl(new GRUOptions(inputSize, hidden)));
        }
        this.rnn = r;
        this.lstm = l;
        this.gru = g;
        this.head = module.register_module("head", new LinearImpl(hidden, outputs));
    }

    public Cell cell() {
        return cell;
    }

    @Override
    public org.bytedeco.pytorch.Module module() {
        return module;
    }

    /**
     * @param input float32 {@code [time, batch, inputSize]}
     * @return {@code [batch, outputs]}, the head applied to the last step's hidden state
     */
    @Override
    public Tensor forward(Tensor input) {
        Tensor states = switch (cell) {
            case RNN -> rnn.forward(input).get0();
            case LSTM -> lstm.forward(input).get0();
            case GRU -> gru.forward(input).get0();
        };
        return head.forward(states.select(0, states.size(0) - 1));
    }

    static void requirePositive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, got " + value);
        }
    }
}
