package dev.gradguard.session;

import dev.gradguard.metrics.Json;
import dev.gradguard.train.TrainingOutcome;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What a {@link TrainingSession} run did; {@link #summary()} is {@code summary.json}.
 *
 * @param labels what the run is (e.g. task and model), as the application labelled it
 * @param outcome how training ended: steps, final loss, skipped, clipped and non-finite steps, stop reason
 * @param evaluation the held-out judgement, when the session had an evaluation and the run was not interrupted
 *     (on rank 0 only)
 * @param paramsFinite whether every parameter is finite at the end
 * @param paramChecksum SHA-256 of the float32 parameter bytes in {@code named_parameters()} order
 * @param paramCount the number of trainable parameter elements
 * @param resumedFromStep the checkpoint step the run resumed from, if it did
 * @param rollbacks the rollbacks on spikes
 * @param worldSize the number of data-parallel ranks
 * @param rank this process's rank
 * @param rankParamChecksums every rank's parameter checksum (equal when data parallelism kept them in step)
 * @param interrupted whether a signal (to this process or another rank) stopped the run
 * @param lrScale the controller's learning-rate scale at the end
 * @param lossScale the fp16 loss scale at the end, with fp16 loss scaling
 * @param device the device trained on
 * @param libtorch libtorch's version
 * @param wallSeconds the run's wall time
 * @param runDirectory where the run's files are, when it has a run directory
 * @param checkpointDirectory where its checkpoints are, when it has a run directory
 * @param config the application's configuration, as recorded in {@code config.json}
 */
public record SessionResult(Map<String, String> labels, TrainingOutcome outcome, Optional<Evaluation> evaluation,
        boolean paramsFinite, String paramChecksum, long paramCount, Optional<Long> resumedFromStep,
        List<Rollback> rollbacks, int worldSize, int rank, List<String> rankParamChecksums, boolean interrupted,
        double lrScale, Optional<Double> lossScale, String device, String libtorch, double wallSeconds,
        Optional<Path> runDirectory, Optional<Path> checkpointDirectory, Object config) {

    public SessionResult {
        labels = Map.copyOf(labels);
        rollbacks = List.copyOf(rollbacks);
        rankParamChecksums = List.copyOf(rankParamChecksums);
    }

    /** Whether the run stopped before its steps were done (the guard, a rollback limit, a stop request, a signal). */
    public boolean stoppedEarly() {
        return outcome.stopReason().isPresent();
    }

    /** {@code summary.json}'s content, in its documented order. */
    public Map<String, Object> summary() {
        Map<String, Object> s = new LinkedHashMap<>(labels);
        s.put("steps", outcome.steps());
        s.put("final_loss", Json.number(outcome.finalLoss()));
        evaluation.ifPresent(e -> {
            s.put("metric", e.metric());
            s.put("metric_value", Json.number(e.value()));
            s.put("baseline_value", Json.number(e.baseline()));
            s.put("criterion", e.criterion());
            s.put("learned", e.learned());
        });
        s.put("skipped_steps", outcome.skippedSteps());
        s.put("nonfinite_steps", outcome.nonFiniteSteps());
        s.put("clipped_steps", outcome.clippedSteps());
        s.put("clip_rate", outcome.steps() == 0 ? 0.0 : (double) outcome.clippedSteps() / outcome.steps());
        s.put("lr_scale", lrScale);
        lossScale.ifPresent(v -> s.put("loss_scale", Json.number(v)));
        s.put("params_finite", paramsFinite);
        s.put("param_checksum", paramChecksum);
        s.put("param_count", paramCount);
        s.put("completed", outcome.completed());
        outcome.stopReason().ifPresent(r -> s.put("stop_reason", r));
        s.put("interrupted", interrupted);
        resumedFromStep.ifPresent(step -> s.put("resumed_from_step", step));
        s.put("rollbacks", rollbacks.stream().map(r -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("step", r.step());
            m.put("to_checkpoint_step", r.toCheckpointStep());
            m.put("skipped_batches", r.skippedBatches());
            m.put("reason", r.reason());
            return m;
        }).toList());
        s.put("world_size", worldSize);
        s.put("rank_param_checksums", rankParamChecksums);
        s.put("wall_s", Math.round(wallSeconds * 100) / 100.0);
        s.put("train_s", Math.round(outcome.wallSeconds() * 100) / 100.0);
        s.put("device", device);
        s.put("libtorch", libtorch);
        s.put("config", config);
        return s;
    }

    /** The closing sentence: whether the model learned, or why the run stopped, and what to do next. */
    public String sentence() {
        if (interrupted) {
            return "Training stopped after " + outcome.steps() + " steps (" + outcome.stopReason().orElse("interrupted")
                    + ")" + checkpointDirectory.map(d -> "; checkpoint saved in " + d + ", to resume from").orElse("")
                    + ".";
        }
        String measured = evaluation.map(e -> String.format(Locale.ROOT,
                "%s %.4g on held-out data (trivial baseline %.4g; success when %s)", e.metric(), e.value(),
                e.baseline(), e.criterion())).orElse(String.format(Locale.ROOT, "final loss %.4g", outcome.finalLoss()));
        if (outcome.stopReason().isPresent()) {
            return "Training stopped early after " + outcome.steps() + " steps: " + outcome.stopReason().get() + ". "
                    + measured + "." + (runDirectory.isPresent() ? " The last good weights are saved." : "");
        }
        String guard = outcome.nonFiniteSteps() == 0 ? ""
                : String.format(Locale.ROOT, " The guard skipped %d step(s) with a non-finite loss, gradient or update.",
                        outcome.nonFiniteSteps());
        String verdict = evaluation.map(e -> e.learned() ? "The model learned: " : "The model did not learn: ")
                .orElse("Training finished: ");
        return verdict + measured + "." + guard;
    }
}
