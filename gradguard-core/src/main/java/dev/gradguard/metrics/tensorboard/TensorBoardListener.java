package dev.gradguard.metrics.tensorboard;

import dev.gradguard.clip.ParameterNorms;
import dev.gradguard.model.Parameters;
import dev.gradguard.train.StepResult;
import dev.gradguard.train.TrainingListener;
import dev.gradguard.train.TrainingOutcome;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a run's metrics as TensorBoard events ({@code tensorboard --logdir <logDir>}), at the step numbers
 * of {@code metrics.jsonl} (0-based):
 * <ul>
 *   <li>every step: {@code train/loss}, {@code train/grad_norm} (before clipping),
 *       {@code train/grad_norm_clipped}, {@code train/clip_coef}, {@code train/lr}, and {@code train/clipped}
 *       and {@code train/skipped} as 0 or 1, and {@code train/loss_scale} in fp16 runs; non-finite values are
 *       written as they are;</li>
 *   <li>when given ({@link #recordParameterNorms}): {@code grad_norm/<parameter name>} for each parameter and
 *       their histogram {@code grad_norm/per_parameter};</li>
 *   <li>when given ({@link #addEval}): {@code eval/<metric>};</li>
 *   <li>on steps with a layer attribution (non-finite, skipped or hard-clipped):
 *       {@code trouble/grad_norm/<parameter>}, the pre-clip gradient norm of each of the largest layers and,
 *       for a layer holding NaN or inf, the norm of its finite elements, and
 *       {@code trouble/nonfinite_elements/<parameter>}, how many of its elements are NaN or inf: values that
 *       plot, under a group that sorts after {@code train/};</li>
 *   <li>when given ({@link #addHParams}): the HParams plugin's experiment and session summaries.</li>
 * </ul>
 * Records reach the file every few seconds and when training ends (see {@link EventFileWriter}).
 *
 * <p>Per-parameter norms need the gradients, which only exist during a step: the trainer's
 * {@link #onGradients} hook hands them over after backward, and every {@code parameterNormInterval} steps
 * the listener reads them with {@link ParameterNorms#norms}.
 *
 * <p>Thread-safe, as its writer is.
 */
public final class TensorBoardListener implements TrainingListener, Closeable {
    /** Per-parameter norms every this many steps, by default. */
    public static final int DEFAULT_PARAMETER_NORM_INTERVAL = 100;
    /** The tag prefix of a troubled step's per-layer gradient norms ("trouble" sorts after "train"). */
    public static final String TROUBLE_NORM = "trouble/grad_norm/";
    /** The tag prefix of a troubled step's per-layer counts of NaN and infinite gradient elements. */
    public static final String TROUBLE_NONFINITE = "trouble/nonfinite_elements/";

    private final EventFileWriter writer;
    private final int parameterNormInterval;

    /** A listener with a new event file in {@code logDir} and the default intervals. */
    public TensorBoardListener(Path logDir) throws IOException {
        this(new EventFileWriter(logDir), DEFAULT_PARAMETER_NORM_INTERVAL);
    }

    /**
     * @param writer the event file to write; the listener closes it
     * @param parameterNormInterval per-parameter norms on steps that are multiples of this; 0 for never
     * @throws IllegalArgumentException when {@code parameterNormInterval} is negative
     */
    public TensorBoardListener(EventFileWriter writer, int parameterNormInterval) {
        if (parameterNormInterval < 0) {
            throw new IllegalArgumentException("parameterNormInterval must be 0 (never) or positive, got "
                    + parameterNormInterval);
        }
        this.writer = Objects.requireNonNull(writer, "writer");
        this.parameterNormInterval = parameterNormInterval;
    }

    /** The event file. */
    public Path file() {
        return writer.file();
    }

    @Override
    public void onStep(StepResult r) {
        double now = now();
        try {
            writer.addScalar("train/loss", r.loss(), r.step(), now);
            writer.addScalar("train/grad_norm", r.gradients().norm(), r.step(), now);
            writer.addScalar("train/grad_norm_clipped", r.gradients().clippedNorm(), r.step(), now);
            writer.addScalar("train/clip_coef", r.gradients().clipCoef(), r.step(), now);
            writer.addScalar("train/lr", r.lr(), r.step(), now);
            writer.addScalar("train/clipped", r.gradients().clipped() ? 1 : 0, r.step(), now);
            writer.addScalar("train/skipped", r.skipped() ? 1 : 0, r.step(), now);
            if (r.diagnostics().lossScale().isPresent()) {
                writer.addScalar("train/loss_scale", r.diagnostics().lossScale().getAsDouble(), r.step(), now);
            }
            if (r.diagnostics().attribution().isPresent()) {
                for (var layer : r.diagnostics().attribution().get().topLayers()) {
                    writer.addScalar(TROUBLE_NORM + layer.name(), layer.norm(), r.step(), now);
                }
                for (var layer : r.diagnostics().attribution().get().nonFinite()) {
                    writer.addScalar(TROUBLE_NORM + layer.name(), layer.finiteNorm(), r.step(), now);
                    writer.addScalar(TROUBLE_NONFINITE + layer.name(), layer.nonFiniteElements(), r.step(), now);
                }
            }
        } catch (IOException e) {
            throw failed(e);
        }
    }

    /** Flushes, then returns the event file's length: what a checkpoint records to resume the file at. */
    public long flushedLength() throws IOException {
        return writer.flushedLength();
    }

    /** True when {@code step} should get per-parameter norms: a multiple of the interval, which is not 0. */
    public boolean wantsParameterNorms(long step) {
        return parameterNormInterval > 0 && step % parameterNormInterval == 0;
    }

    /** Every {@code parameterNormInterval} steps, records the raw (pre-clip) per-parameter gradient norms. */
    @Override
    public void onGradients(long step, Parameters parameters) {
        if (wantsParameterNorms(step)) {
            recordParameterNorms(step, ParameterNorms.norms(parameters));
        }
    }

    /**
     * Writes {@code grad_norm/<name>} for each entry, and {@code grad_norm/per_parameter}, the histogram of
     * the finite norms (left out when none is finite), whatever {@link #wantsParameterNorms} says.
     */
    public void recordParameterNorms(long step, Map<String, Double> norms) {
        double now = now();
        try {
            for (Map.Entry<String, Double> e : norms.entrySet()) {
                writer.addScalar("grad_norm/" + e.getKey(), e.getValue(), step, now);
            }
            double[] values = norms.values().stream().mapToDouble(Double::doubleValue).toArray();
            if (Arrays.stream(values).anyMatch(Double::isFinite)) {
                writer.addHistogram("grad_norm/per_parameter", values, step, now);
            }
        } catch (IOException e) {
            throw failed(e);
        }
    }

    /** Writes {@code eval/<metric>}. */
    public void addEval(String metric, double value, long step) {
        try {
            writer.addScalar("eval/" + metric, value, step, now());
        } catch (IOException e) {
            throw failed(e);
        }
    }

    /**
     * Writes the HParams plugin's summaries, so that TensorBoard's HParams tab lists this run with its
     * hyperparameters beside the last values of {@code metricTags}: the experiment (each hyperparameter's name and
     * type, the metric tags), then this session's start and end.
     *
     * @param hparams the run's settings: numbers, booleans, and anything else as text (lists joined by commas)
     * @param metricTags scalar tags written in this file, e.g. {@code eval/error_rate} and {@code train/loss}
     * @param succeeded whether the run completed (the session's status: success or failure)
     */
    public void addHParams(Map<String, ?> hparams, List<String> metricTags, boolean succeeded) {
        double now = now();
        try {
            writer.addPluginData(HParams.EXPERIMENT_TAG, HParams.PLUGIN_NAME, HParams.experiment(hparams, metricTags), 0,
                    now);
            writer.addPluginData(HParams.SESSION_START_TAG, HParams.PLUGIN_NAME, HParams.sessionStart(hparams, now), 0,
                    now);
            writer.addPluginData(HParams.SESSION_END_TAG, HParams.PLUGIN_NAME, HParams.sessionEnd(succeeded, now), 0,
                    now);
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public void onTrainEnd(TrainingOutcome outcome) {
        try {
            writer.flush();
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public void close() throws IOException {
        writer.close();
    }

    private static double now() {
        return EventFileWriter.seconds(Instant.now());
    }

    private UncheckedIOException failed(IOException e) {
        return new UncheckedIOException("could not write TensorBoard events to " + writer.file() + ": "
                + e.getMessage(), e);
    }
}
