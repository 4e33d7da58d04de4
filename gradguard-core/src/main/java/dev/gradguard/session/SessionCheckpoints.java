package dev.gradguard.session;

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
import dev.gradguard.checkpoint.CheckpointException;
import dev.gradguard.metrics.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A session's checkpoints: saved every {@link CheckpointPolicy#every()} steps and at the end, with the byte
 * lengths of {@code metrics.jsonl} and the TensorBoard event file at that moment, so that a resumed run
 * cuts both back to the checkpoint and every step appears in them exactly once; and the rollback on spikes.
 */
final class SessionCheckpoints implements TrainingListener {
    private static final Logger LOG = System.getLogger(SessionCheckpoints.class.getName());

    static final String METRICS_OFFSET = "metrics.jsonl";
    static final String EVENTS_OFFSET = "events";
    static final String EVENT_FILE = "event_file";
    static final String RANK_DATA_STATES = "rank_data_states";

    private final RunDirectory run;
    private final CheckpointPolicy policy;
    private final Map<String, String> labels;
    private final Optional<Path> tensorBoardDirectory;
    private final int parameterNormInterval;
    private final CheckpointStore store;
    private final DataParallel parallel;
    private Trainer trainer;
    private MetricsJsonlWriter metrics;
    private TensorBoardListener tensorboard;
    private long lastSavedStep = -1;
    private final List<Rollback> rollbacks = new ArrayList<>();

    /**
     * @param labels what the run is (e.g. task and model), recorded in every checkpoint
     * @param tensorBoardDirectory where event files go, when not in the run directory
     * @param parallel the data-parallel group: every rank takes part in a checkpoint (each rank's data
     *     position is gathered into it), rank 0 alone writes it
     */
    SessionCheckpoints(RunDirectory run, CheckpointPolicy policy, Map<String, String> labels,
            Optional<Path> tensorBoardDirectory, int parameterNormInterval, DataParallel parallel) {
        this.run = run;
        this.policy = policy;
        this.labels = Map.copyOf(labels);
        this.tensorBoardDirectory = tensorBoardDirectory;
        this.parameterNormInterval = parameterNormInterval;
        this.parallel = parallel;
        this.store = CheckpointStore.inRun(run.path(), policy.keep());
    }

    CheckpointStore store() {
        return store;
    }

    /**
     * The newest checkpoint that verifies; damaged or partial ones are logged and passed over.
     *
     * @throws CheckpointException when there is no valid checkpoint: nothing to resume from, so nothing is
     *     changed and the caller decides
     */
    LoadedCheckpoint newestValid() {
        LatestCheckpoint latest = store.latestValid();
        // every rank says what it found before any rank gives up, so that none waits for another in vain
        agreeOnCheckpoint(latest.checkpoint(), "resume from");
        if (latest.checkpoint().isEmpty()) {
            List<SkippedCheckpoint> damaged = latest.skipped().stream()
                    .filter(c -> c.path().getFileName().toString().startsWith("step-")).toList();
            if (!damaged.isEmpty()) {
                throw new CheckpointException(damaged.get(0).path(), "no checkpoint in " + store.directory()
                        + " is valid (" + damaged.size() + " damaged, newest: " + damaged.get(0).reason()
                        + "); nothing was changed. Start a new run, or restore the checkpoints");
            }
            throw new CheckpointException(store.directory(), "there is nothing to resume from: no checkpoint "
                    + "(a step-N directory with a verified manifest) in " + store.directory() + "; nothing was changed");
        }
        for (SkippedCheckpoint skipped : latest.skipped()) {
            LOG.log(Level.WARNING, "skipping checkpoint " + skipped);
        }
        return latest.checkpoint().get();
    }

    /**
     * Checks, changing nothing, that the run's files can be continued from checkpoint {@code c}: metrics.jsonl and
     * the event file hold at least what the checkpoint recorded, are regular files (not links), and the event
     * file's recorded name is an event file's name in the TensorBoard directory. A resume calls this before it cuts
     * either file back, so that a refusal leaves both as they were.
     *
     * @throws CheckpointException when the checkpoint names no event file of gradguard's, or records no offset
     * @throws IllegalArgumentException when a file is shorter than the checkpoint recorded
     * @throws java.nio.file.FileSystemException when a file is a symbolic link or not a regular file
     */
    void checkResumable(LoadedCheckpoint c) throws IOException {
        MetricsJsonlWriter.checkResumable(run.metrics(), offset(c, METRICS_OFFSET));
        Optional<Path> events = eventFile(c);
        if (events.isPresent()) {
            EventFileWriter.checkResumable(events.get(), offset(c, EVENTS_OFFSET));
        }
    }

    /**
     * The event file checkpoint {@code c} continues, when it is still there (absent when it is gone): a name of
     * gradguard's event files, in the TensorBoard directory itself (a checkpoint is data from the disk, so a name
     * such as {@code ../x} is refused).
     */
    private Optional<Path> eventFile(LoadedCheckpoint c) {
        if (!(c.metadata().get(EVENT_FILE) instanceof String name)) {
            return Optional.empty();
        }
        if (!name.startsWith(RunDirectory.EVENT_FILE_PREFIX) || name.contains("/") || name.contains("\\")
                || name.indexOf('\0') >= 0) {
            throw new CheckpointException(c.directory(), "names its event file '" + name + "', which is not the name of"
                    + " a TensorBoard event file in the run's TensorBoard directory; nothing was changed");
        }
        Path file = tensorBoardDirectory.orElse(run.path()).resolve(name);
        return Files.exists(file, LinkOption.NOFOLLOW_LINKS) ? Optional.of(file) : Optional.empty();
    }

    /** {@code metrics.jsonl}, cut back to the checkpoint's length when resuming, new otherwise. */
    MetricsJsonlWriter openMetrics(Optional<LoadedCheckpoint> restored) throws IOException {
        if (restored.isPresent()) {
            return MetricsJsonlWriter.resume(run.metrics(), offset(restored.get(), METRICS_OFFSET));
        }
        run.record(run.metrics());
        Files.deleteIfExists(run.metrics());
        return new MetricsJsonlWriter(run.metrics());
    }

    /** The event file the checkpoint recorded, cut back to its length; a new one otherwise. */
    TensorBoardListener openTensorBoard(Optional<LoadedCheckpoint> restored) throws IOException {
        Optional<Path> resumed = restored.flatMap(this::eventFile);
        EventFileWriter writer;
        if (resumed.isPresent()) {
            writer = EventFileWriter.resume(resumed.get(), offset(restored.get(), EVENTS_OFFSET),
                    EventFileWriter.DEFAULT_FLUSH_INTERVAL);
        } else {
            if (restored.isPresent() && restored.get().metadata().get(EVENT_FILE) instanceof String name) {
                LOG.log(Level.WARNING, "the event file " + name + " is gone; TensorBoard events continue in a new file");
            }
            writer = new EventFileWriter(tensorBoardDirectory.orElse(run.path()), EventFileWriter.DEFAULT_FLUSH_INTERVAL);
            run.record(writer.file());
        }
        return new TensorBoardListener(writer, parameterNormInterval);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parseJson(String json) {
        try {
            return Json.compact().readValue(json, Map.class);
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

    void attach(Trainer trainer) {
        this.trainer = trainer;
    }

    /** The writers whose lengths each checkpoint records (none on ranks other than 0). */
    void attachOutputs(MetricsJsonlWriter metrics, TensorBoardListener tensorboard) {
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
    }

    /** The rollbacks done so far. */
    List<Rollback> rollbacks() {
        return List.copyOf(rollbacks);
    }

    @Override
    public void onStep(StepResult result) {
        if (policy.maxRollbacks() > 0 && result.skipReason().equals(Optional.of(SkipReason.SPIKE))
                && result.stopReason().isEmpty()) {
            rollBack(result);
        }
        long every = policy.every();
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
     * logged once. After {@link CheckpointPolicy#maxRollbacks()} rollbacks the run stops.
     */
    private void rollBack(StepResult spike) {
        String reason = spike.skip().get().detail();
        if (rollbacks.size() >= policy.maxRollbacks()) {
            trainer.stopAfterThisStep("gave up after " + rollbacks.size() + " rollbacks; the last spike, at step "
                    + spike.step() + ": " + reason);
            return;
        }
        LatestCheckpoint latest = store.latestValid();
        agreeOnCheckpoint(latest.checkpoint(), "roll back to");
        if (latest.checkpoint().isEmpty()) {
            LOG.log(Level.WARNING, "step " + spike.step() + " spiked (" + reason + ") but there is no checkpoint to roll back to");
            return;
        }
        LoadedCheckpoint c = latest.checkpoint().get();
        Map<String, Object> now = trainer.stateDict();
        Map<String, Object> back = new LinkedHashMap<>(c.trainerState());
        for (String kept : List.of("step", "data", "guard", "clipped_steps", "recent_losses", "scaler")) {
            if (now.containsKey(kept)) {
                back.put(kept, now.get(kept));
            }
        }
        c.restoreWeights(trainer.model().module(), trainer.optimizer());
        trainer.loadStateDict(back);
        rollbacks.add(new Rollback(spike.step(), c.step(), spike.step() + 1 - c.step(), reason));
        LOG.log(Level.WARNING, "step " + spike.step() + " spiked (" + reason + "): rolled back to the checkpoint of step "
                + c.step() + ", skipping the " + (spike.step() + 1 - c.step()) + " batches since (rollback "
                + rollbacks.size() + " of at most " + policy.maxRollbacks() + ")");
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
                    Json.compact().writeValueAsString(trainer.stateDict().get("data")));
            if (!parallel.isMain()) {
                lastSavedStep = trainer.stepCount();
                return;
            }
            Map<String, Long> offsets = new LinkedHashMap<>();
            offsets.put(METRICS_OFFSET, metrics.length());
            offsets.put(EVENTS_OFFSET, tensorboard.flushedLength());
            Map<String, Object> metadata = new LinkedHashMap<>(labels);
            metadata.put(EVENT_FILE, tensorboard.file().getFileName().toString());
            if (parallel.worldSize() > 1) {
                metadata.put(RANK_DATA_STATES, dataStates);
            }
            SavedCheckpoint saved = store.save(Checkpoint.capture(trainer, offsets, metadata));
            saved.warnings().forEach(w -> LOG.log(Level.WARNING, w));
            lastSavedStep = trainer.stepCount();
        } catch (IOException e) {
            throw new UncheckedIOException("could not record metrics offsets for a checkpoint: " + e.getMessage(), e);
        }
    }
}
