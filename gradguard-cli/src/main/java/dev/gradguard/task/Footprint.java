package dev.gradguard.task;

import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * About how much memory training a task's model takes, estimated from its sizes before anything is allocated,
 * so that sizes that cannot fit are refused with the estimate instead of failing inside libtorch or the JVM (or
 * being killed by the kernel's out-of-memory killer, with no message at all). Counts are of float32 values
 * (4 bytes). What a step keeps per sequence is calibrated on measured peaks: the growth of the process's peak
 * resident memory with the batch size ({@code scripts/footprint_calibrate.sh}), which libtorch's recurrent and
 * attention kernels make two to three times the tensors a step visibly keeps (their workspaces and the backward
 * pass's temporaries).
 *
 * @param parameters the model's parameters
 * @param floatsPerSequence the values a training step keeps per sequence of a batch for the backward pass (the
 *     inputs, and per time step the recurrent layer's output and gate activations)
 * @param inputFloatsPerSequence the values of one sequence's input, built in the Java heap before it is copied
 *     into a tensor
 * @param evaluationSequences the sequences evaluated in one forward pass
 */
public record Footprint(long parameters, double floatsPerSequence, double inputFloatsPerSequence, int evaluationSequences) {
    private static final double FLOAT_BYTES = 4;
    /** The largest Java array. */
    private static final double MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    /** The parameters of a recurrent layer with {@code gates} gates (1 RNN, 3 GRU, 4 LSTM), as libtorch has them. */
    static long recurrentParameters(int gates, long input, long hidden) {
        return gates * (hidden * (input + hidden) + 2 * hidden);
    }

    /**
     * The parameters of a pre-LayerNorm Transformer's blocks: per block two LayerNorms, attention's input and
     * output projections, and a 4x-wide MLP.
     */
    static long transformerBlockParameters(TransformerSize size) {
        long d = size.width();
        return size.layers() * (4 * d + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d));
    }

    /**
     * What a Transformer's training step holds at its peak per sequence of {@code length}: per block about 28 values
     * of width per position, plus eight of every head's attention weights ({@code length^2}). Measured: 1,566 to
     * 1,678 values per position and block at width 32, 4 heads, length 30 (this formula: 1,856).
     */
    static double transformerFloatsPerSequence(TransformerSize size, long length) {
        return (double) size.layers() * length * (28.0 * size.width() + 8.0 * size.heads() * length);
    }

    /**
     * What a recurrent layer's training step holds at its peak per sequence and time step, in multiples of the
     * hidden size. Measured at hidden 32, length 30, in two runs: rnn 5.6 and 5.9, gru 13.7 and 13.8, lstm 14.5
     * and 15.4 (and about 16 at hidden 128 with {@code charlm}'s logits counted apart).
     */
    static double recurrentFloatsPerStep(String model, long hidden) {
        return hidden * switch (model) {
            case "gru" -> 14.0;
            case "lstm" -> 16.0;
            default -> 6.0;
        };
    }

    /** What a step holds per position for a vocabulary's logits: the logits, their log-softmax and both gradients. */
    static double logitFloatsPerStep(long vocabulary) {
        return 4.0 * vocabulary;
    }

    /** The gates of a recurrent cell: 1 for rnn, 3 for gru, 4 for lstm. */
    static int gates(String model) {
        return switch (model) {
            case "gru" -> 3;
            case "lstm" -> 4;
            default -> 1;
        };
    }

    /**
     * Bytes of a training step on batches of {@code batchSize} with {@code optimizerStates} tensors of optimizer
     * state per parameter (0 for plain SGD, 1 with momentum, 2 for Adam): parameters, gradients and optimizer
     * state, plus the activations of the larger of a training batch and an evaluation batch.
     */
    public double trainingBytes(int batchSize, int optimizerStates) {
        return FLOAT_BYTES * (parameters * (2.0 + optimizerStates)
                + floatsPerSequence * Math.max(batchSize, evaluationSequences));
    }

    /**
     * Refuses a job that cannot fit in this machine's memory (libtorch's tensors) or in the JVM's heap (the
     * batches built in Java).
     *
     * @throws IllegalArgumentException one line with the estimate, what the machine has, and what to lower
     */
    public void requireFits(int batchSize, int optimizerStates) {
        requireFits(batchSize, optimizerStates, physicalMemoryBytes(), Runtime.getRuntime().maxMemory());
    }

    /** {@link #requireFits(int, int)} on a machine with {@code machine} bytes of memory and a JVM heap of {@code heap}. */
    void requireFits(int batchSize, int optimizerStates, long machine, long heap) {
        double need = trainingBytes(batchSize, optimizerStates);
        String what = String.format(Locale.ROOT, "%.3g parameters x 4 bytes x %d copies (weights, gradients, optimizer"
                + " state) + activations of %d sequences x %.3g values x 4 bytes", (double) parameters, 2 + optimizerStates,
                Math.max(batchSize, evaluationSequences), floatsPerSequence);
        if (need > machine) {
            throw new IllegalArgumentException("this job needs about " + bytes(need) + " of memory (" + what
                    + ") but this machine has " + bytes(machine) + "; lower --hidden, --batch-size or --length");
        }
        double input = inputFloatsPerSequence * Math.max(batchSize, evaluationSequences);
        if (input > MAX_ARRAY_LENGTH || FLOAT_BYTES * input > heap / 2.0) {
            throw new IllegalArgumentException("one batch's input is " + bytes(FLOAT_BYTES * input) + " ("
                    + String.format(Locale.ROOT, "%.3g", input) + " values), more than the JVM can build (heap "
                    + bytes(heap) + ", arrays of at most 2^31 values); lower --batch-size or --length");
        }
    }

    /** The machine's memory, or the container's limit where there is one. */
    static long physicalMemoryBytes() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
    }

    private static String bytes(double b) {
        String[] units = {"bytes", "KB", "MB", "GB", "TB", "PB", "EB"};
        int u = 0;
        while (b >= 1000 && u < units.length - 1) {
            b /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
    }
}
