package dev.gradguard.run;

import dev.gradguard.checkpoint.Checkpoint;
import dev.gradguard.checkpoint.CheckpointStore;
import dev.gradguard.checkpoint.LatestCheckpoint;
import dev.gradguard.checkpoint.LoadedCheckpoint;
import dev.gradguard.checkpoint.SavedCheckpoint;
import dev.gradguard.checkpoint.SkippedCheckpoint;
import dev.gradguard.dist.DataParallel;
import dev.gradguard.guard.SkipReason;
import dev.gradguard.metrics.MetricsJsonlWriter;
import dev.gradguard.metrics.tensorboard.EventFileWriter;
import dev.gradguard.metrics.tensorboard.TensorBoardListener;
import dev.gradguard.train.StepResult;
import dev.gradguard.train.Trainer;
import dev.gradguard.train.TrainingListener;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.gradguard.checkpoint.CheckpointException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A train run's checkpoints: saved every {@code checkpoint-every} steps and at the end, with the byte
 * lengths of {@code metrics.jsonl} and the TensorBoard event file at that moment, so that a resumed run
 * cuts both back to the checkpoint and every step appears in them exactly once.
 */
final class RunCheckpoints implements TrainingListener {
    static final String METRICS_OFFSET = "metrics.jsonl";
    static final String EVENTS_OFFSET = "events";
    static final String EVENT_FILE = "event_file";
    static final String RANK_DATA_STATES = "rank_data_states";

    private final RunDirectory run;
    private final TrainSettings settings;
    private final PrintStream log;
    private final CheckpointStore store;
    private final DataParallel parallel;
    private Trainer trainer;
    private MetricsJsonlWriter metrics;
    private TensorBoardListener tensorboard;
    private long lastSavedStep = -1;
    private final java.util.List<Map<String, Object>> rollbacks = new java.util.ArrayList<>();

    /**
     * @param parallel the data-parallel group: every rank takes part in a checkpoint (each rank's data
     *     position is gathered into it), rank 0 alone writes it
     */
    RunCheckpoints(RunDirectory run, TrainSettings settings, PrintStream log, DataParallel parallel) {
        this.run = run;
        this.settings = settings;
        this.log = log;
        this.parallel = parallel;
        this.store = CheckpointStore.inRun(run.path(), settings.keepCheckpoints());
    }

    CheckpointStore store() {
        return store;
    }

    /**
     * The newest checkpoint that verifies; damaged or partial ones are reported and passed over. With no
     * checkpoint at all (the run died before its first), training starts again from step 0.
     *
     * @throws CheckpointException when checkpoints exist but none verifies: starting over would throw the
     *     run away, so nothing is changed and the user decides
     */
    Optional<LoadedCheckpoint> newestValid() {
        LatestCheckpoint latest = store.latestValid();
        if (latest.checkpoint().isEmpty()) {
            List<SkippedCheckpoint> damaged = latest.skipped().stream()
                    .filter(c -> c.path().getFileName().toString().startsWith("step-")).toList();
            if (!damaged.isEmpty()) {
                throw new CheckpointException(damaged.get(0).path(), "no checkpoint in " + store.directory()
                        + " is valid (" + damaged.size() + " damaged, newest: " + damaged.get(0).reason()
                        + "); nothing was changed. Start a new run with --overwrite, or restore the checkpoints");
            }
            log.println("gradguard: no checkpoint in " + store.directory() + " yet; starting from step 0");
        }
        for (SkippedCheckpoint skipped : latest.skipped()) {
            log.println("gradguard: skipping checkpoint " + skipped);
        }
        agreeOnCheckpoint(latest.checkpoint(), "resume from");
        return latest.checkpoint();
    }

    /** {@code metrics.jsonl}, cut back to the checkpoint's length when resuming, new otherwise. */
    MetricsJsonlWriter openMetrics(Optional<LoadedCheckpoint> restored) throws IOException {
        if (restored.isPresent()) {
            return MetricsJsonlWriter.resume(run.metrics(), offset(restored.get(), METRICS_OFFSET));
        }
        Files.deleteIfExists(run.metrics());
        return new MetricsJsonlWriter(run.metrics());
    }

    /** The event file the checkpoint recorded, cut back to its length; a new one otherwise. */
    TensorBoardListener openTensorBoard(Optional<LoadedCheckpoint> restored) throws IOException {
        Path dir = settings.tensorboard().orElse(run.path());
        EventFileWriter writer = null;
        if (restored.isPresent() && restored.get().metadata().get(EVENT_FILE) instanceof String name) {
            Path file = dir.resolve(name);
            if (Files.isRegularFile(file)) {
                writer = EventFileWriter.resume(file, offset(restored.get(), EVENTS_OFFSET),
                        EventFileWriter.DEFAULT_FLUSH_INTERVAL);
            } else {
                log.println("gradguard: the event file " + file + " is gone; TensorBoard events continue in a new file");
            }
        }
        if (writer == null) {
            writer = new EventFileWriter(dir, EventFileWriter.DEFAULT_FLUSH_INTERVAL);
        }
        return new TensorBoardListener(writer, settings.gradNormEvery());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parseJson(String json) {
        try {
            return dev.gradguard.metrics.Json.compact().readValue(json, Map.class);
        } catch (IOException e) {
            throw new UncheckedIOException("a rank's saved data position is not JSON: " + e.getMessage(), e);
        }
    }

    private static long offset(LoadedCheckpoint c, String key) {
        Long v = c.metricsOffsets().get(key);
        if (v == null) {
            throw new CheckpointException(c.directory(), "records no offset for " + key);
        }
        return v;
    }

    void attach(Trainer trainer, MetricsJsonlWriter metrics, TensorBoardListener tensorboard) {
        this.trainer = trainer;
        this.metrics = metrics;
        this.tensorboard = tensorboard;
    }

    /** Restores the trainer (model, optimizer, loop and component states, generator) from the checkpoint. */
    void restore(LoadedCheckpoint checkpoint, Trainer into) {
        checkpoint.restore(into);
        if (parallel.worldSize() > 1) {
            // the loop state is rank 0's; each rank continues its own data stream
            Object saved = checkpoint.metadata().get(RANK_DATA_STATES);
            if (!(saved instanceof List<?> states) || states.size() != parallel.worldSize()) {
                throw new CheckpointException(checkpoint.directory(), "was saved by "
                        + (saved instanceof List<?> l ? l.size() : 1) + " data-parallel rank(s); this run has "
                        + parallel.worldSize());
            }
            Map<String, Object> state = new LinkedHashMap<>(into.stateDict());
            state.put("data", parseJson(String.valueOf(states.get(parallel.rank()))));
            into.loadStateDict(state);
        }
        lastSavedStep = checkpoint.step();
        log.println("gradguard: resumed from " + checkpoint.directory() + " at step " + checkpoint.step());
    }

    /** The rollbacks done so far: step, checkpoint step, reason. */
    java.util.List<Map<String, Object>> rollbacks() {
        return java.util.List.copyOf(rollbacks);
    }

    @Override
    public void onStep(StepResult result) {
        if (settings.rollback() > 0 && result.skipReason().equals(Optional.of(SkipReason.SPIKE))
                && result.stopReason().isEmpty()) {
            rollBack(result);
        }
        long every = settings.checkpointEvery();
        if (every > 0 && (result.step() + 1) % every == 0) {
            save();
        }
    }

    /**
     * Answers a spike (a step a spike guard skipped) as large-scale training does (PaLM, Chowdhery et al.
     * 2022): the weights, optimizer moments, clipping histories, schedule and controller go back to the
     * newest checkpoint, while the data position stays where it is, so the batches between the checkpoint
     * and the spike are skipped rather than replayed. The fp16 loss scale stays too: it is calibrated to the
     * gradients' range, which a rollback does not change. The step count keeps rising, so every step is
     * logged once. After {@code --rollback} rollbacks the run stops.
     */
    private void rollBack(StepResult spike) {
        String reason = spike.skip().get().detail();
        if (rollbacks.size() >= settings.rollback()) {
            trainer.stopAfterThisStep("gave up after " + rollbacks.size() + " rollbacks; the last spike, at step "
                    + spike.step() + ": " + reason);
            return;
        }
        LatestCheckpoint latest = store.latestValid();
        agreeOnCheckpoint(latest.checkpoint(), "roll back to");
        if (latest.checkpoint().isEmpty()) {
            log.println("gradguard: step " + spike.step() + " spiked (" + reason + ") but there is no checkpoint to roll back to");
            return;
        }
        LoadedCheckpoint c = latest.checkpoint().get();
        Map<String, Object> now = trainer.stateDict();
        Map<String, Object> back = new LinkedHashMap<>(c.trainerState());
        for (String kept : java.util.List.of("step", "data", "guard", "clipped_steps", "recent_losses", "scaler")) {
            if (now.containsKey(kept)) {
                back.put(kept, now.get(kept));
            }
        }
        c.restoreWeights(trainer.model().module(), trainer.optimizer());
        trainer.loadStateDict(back);
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("step", spike.step());
        record.put("to_checkpoint_step", c.step());
        record.put("skipped_batches", spike.step() + 1 - c.step());
        record.put("reason", reason);
        rollbacks.add(record);
        log.println("gradguard: step " + spike.step() + " spiked (" + reason + "): rolled back to the checkpoint of step "
                + c.step() + ", skipping the " + (spike.step() + 1 - c.step()) + " batches since (rollback "
                + rollbacks.size() + " of at most " + settings.rollback() + ")");
    }

    /**
     * In data-parallel training every rank resumes or rolls back from the checkpoint rank 0 wrote, so the run
     * directory must be visible to every rank. Ranks that would load different checkpoints (or one of them
     * none) would drift apart or wait for each other until the timeout: that stops the run at once instead.
     * A no-op with one process.
     *
     * @param purpose what the checkpoint is for, for the message ("resume from", "roll back to")
     */
    private void agreeOnCheckpoint(Optional<LoadedCheckpoint> checkpoint, String purpose) {
        String mine = checkpoint.map(c -> Long.toString(c.step())).orElse("none");
        List<String> all = parallel.allGather(mine);
        if (all.stream().distinct().count() > 1) {
            throw new CheckpointException(store.directory(), "the data-parallel ranks see different checkpoints to "
                    + purpose + " (newest step by rank: " + all + "); every rank must see rank 0's run directory");
        }
    }

    /** A checkpoint at the end, unless the last step just got one. */
    void saveFinal() {
        if (trainer.stepCount() != lastSavedStep) {
            save();
        }
    }

    private void save() {
        try {
            List<String> dataStates = parallel.allGather(
                    dev.gradguard.metrics.Json.compact().writeValueAsString(trainer.stateDict().get("data")));
            if (!parallel.isMain()) {
                lastSavedStep = trainer.stepCount();
                return;
            }
            Map<String, Long> offsets = new LinkedHashMap<>();
            offsets.put(METRICS_OFFSET, metrics.length());
            offsets.put(EVENTS_OFFSET, tensorboard.flushedLength());
            Map<String, Object> metadata = new LinkedHashMap<>();
            metadata.put("task", settings.task());
            metadata.put("model", settings.model());
            metadata.put(EVENT_FILE, tensorboard.file().getFileName().toString());
            if (parallel.worldSize() > 1) {
                metadata.put(RANK_DATA_STATES, dataStates);
            }
            SavedCheckpoint saved = store.save(Checkpoint.capture(trainer, offsets, metadata));
            saved.warnings().forEach(w -> log.println("gradguard: " + w));
            lastSavedStep = trainer.stepCount();
        } catch (IOException e) {
            throw new UncheckedIOException("could not record metrics offsets for a checkpoint: " + e.getMessage(), e);
        }
    }
}
