package dev.gradguard.report;

import dev.gradguard.metrics.tensorboard.Event;
import dev.gradguard.metrics.tensorboard.EventFileReader;
import dev.gradguard.metrics.tensorboard.SummaryValue;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Per-parameter gradient norms over steps, from the {@code grad_norm/<parameter>} scalars of a run's
 * TensorBoard event files (see {@link dev.gradguard.metrics.tensorboard.TensorBoardListener}). The
 * histogram {@code grad_norm/per_parameter} is not a parameter and is left out.
 *
 * @param layers the parameter names, in the order they first appear (the model's parameter order)
 * @param steps the steps that have norms, ascending
 * @param norms {@code norms[layer][stepIndex]}; NaN where a layer has no value at a step, and positive
 *     infinity where the recorded norm was non-finite (NaN or an infinity)
 */
public record LayerNorms(List<String> layers, long[] steps, double[][] norms) {
    /** The tag prefix of per-parameter norms. */
    public static final String TAG_PREFIX = "grad_norm/";

    public LayerNorms {
        layers = List.copyOf(layers);
    }

    /** True when there is nothing to show. */
    public boolean isEmpty() {
        return layers.isEmpty() || steps.length == 0;
    }

    /**
     * Reads the per-parameter norms of every event file directly in {@code logDir}; empty when there is
     * none. A value written twice for one step (a run resumed into the same directory) keeps the later.
     *
     * @throws dev.gradguard.metrics.tensorboard.CorruptEventFileException when a record is corrupt
     */
    public static LayerNorms read(Path logDir) throws IOException {
        Map<String, TreeMap<Long, Double>> byLayer = new LinkedHashMap<>();
        if (Files.isDirectory(logDir)) {
            for (Path file : EventFileReader.eventFiles(logDir)) {
                try (EventFileReader events = EventFileReader.open(file)) { // one event at a time: files can be large
                    while (events.hasNext()) {
                        Event event = events.next();
                        for (SummaryValue v : event.values()) {
                            if (v.tag().startsWith(TAG_PREFIX) && v.scalar().isPresent()) {
                                byLayer.computeIfAbsent(v.tag().substring(TAG_PREFIX.length()), k -> new TreeMap<>())
                                        .put(event.step(), finiteOrInfinity(v.scalar().getAsDouble()));
                            }
                        }
                    }
                } catch (UncheckedIOException e) {
                    throw e.getCause();
                }
            }
        }
        TreeMap<Long, Integer> stepIndex = new TreeMap<>();
        byLayer.values().forEach(m -> m.keySet().forEach(s -> stepIndex.put(s, 0)));
        long[] steps = stepIndex.keySet().stream().mapToLong(Long::longValue).toArray();
        for (int i = 0; i < steps.length; i++) {
            stepIndex.put(steps[i], i);
        }
        List<String> layers = new ArrayList<>(byLayer.keySet());
        double[][] norms = new double[layers.size()][steps.length];
        for (int l = 0; l < layers.size(); l++) {
            Arrays.fill(norms[l], Double.NaN);
            for (Map.Entry<Long, Double> e : byLayer.get(layers.get(l)).entrySet()) {
                norms[l][stepIndex.get(e.getKey())] = e.getValue();
            }
        }
        return new LayerNorms(layers, steps, norms);
    }

    private static double finiteOrInfinity(double v) {
        return Double.isFinite(v) ? v : Double.POSITIVE_INFINITY;
    }
}
