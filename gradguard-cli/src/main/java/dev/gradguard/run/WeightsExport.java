package dev.gradguard.run;

import dev.gradguard.checkpoint.CheckpointStore;
import dev.gradguard.engine.Torch;
import dev.gradguard.interop.SafeTensors;
import dev.gradguard.metrics.Json;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.session.RunDirectory;
import dev.gradguard.task.Task;
import dev.gradguard.task.Tasks;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.bytedeco.pytorch.InputArchive;

/**
 * Writes a run's weights as a safetensors file that PyTorch loads into the equivalent {@code nn.Module}: the
 * model is rebuilt from the run's {@code config.json} as its task builds it, given the run's final weights
 * ({@code model.pt}) or a checkpoint's, and written under its {@code named_parameters()} names with the task,
 * model and the run's settings (its config.json as {@link TrainSettings} reads it) in the file's metadata.
 */
public final class WeightsExport {
    private WeightsExport() {
    }

    /** What was written. */
    public record Exported(Path file, String task, String model, long parameters, String checksum) {
    }

    /** The file an export writes when no other is named: {@code model.safetensors}, or {@code model-step-N.safetensors}. */
    public static Path defaultFile(Path runDir, OptionalLong step) {
        return runDir.resolve(step.isPresent() ? "model-step-" + step.getAsLong() + ".safetensors" : "model.safetensors");
    }

    /**
     * Exports the run in {@code runDir}.
     *
     * @param step the checkpoint to export, or empty for the final weights
     * @param out the file to write; it must not exist
     * @throws IllegalArgumentException when {@code runDir} is not a run, has no such checkpoint or no final
     *     weights, or {@code out} exists
     * @throws dev.gradguard.checkpoint.CheckpointException when the checkpoint is corrupt or does not fit
     * @throws dev.gradguard.task.DataException when charlm's data file, which sets the vocabulary, is gone
     * @throws IOException when a file cannot be read or written
     */
    public static Exported export(Path runDir, OptionalLong step, Path out) throws IOException {
        RunDirectory run = RunDirectory.open(runDir, RunDirectory.Mode.READ_ONLY);
        if (!RunDirectory.isRun(runDir) || !Files.isRegularFile(run.config())) {
            throw new IllegalArgumentException(runDir + " is not a gradguard run directory (it has no "
                    + RunDirectory.MARKER + " marker or no config.json)");
        }
        if (Files.exists(out)) {
            throw new IllegalArgumentException("--out " + out + " already exists; remove it or name another file");
        }
        TrainSettings settings = TrainSettings.of(ConfigFiles.read(run.config()), run.config().toString());
        Torch.load();
        Task task = Tasks.create(settings.problem().name(), TrainJob.taskOptions(settings.problem()));
        String modelName = TrainJob.modelName(task, settings.problem());
        Model model = TrainJob.createModel(task, modelName, settings);

        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put("task", task.name());
        metadata.put("model", modelName);
        if (step.isPresent()) {
            Path checkpoint = CheckpointStore.inRun(runDir, CheckpointStore.DEFAULT_KEEP_LAST).directory()
                    .resolve(CheckpointStore.directoryName(step.getAsLong()));
            if (!Files.isDirectory(checkpoint)) {
                throw new IllegalArgumentException("--step " + step.getAsLong() + ": " + runDir + " has no checkpoint "
                        + "of that step (it has: " + checkpointSteps(checkpoint.getParent()) + ")");
            }
            CheckpointStore.restoreModel(model.module(), checkpoint);
            metadata.put("step", Long.toString(step.getAsLong()));
        } else {
            if (!Files.isRegularFile(run.weights())) {
                throw new IllegalArgumentException(runDir + " has no final weights (" + run.weights().getFileName()
                        + "); export a checkpoint with --step N (it has: "
                        + checkpointSteps(CheckpointStore.inRun(runDir, 1).directory()) + ")");
            }
            InputArchive archive = new InputArchive();
            archive.load_from(run.weights().toString());
            model.module().load(archive);
        }
        // the settings as read, not the file's text: a run recorded by an earlier version may hold placeholders
        // (layers and heads of 0 for a recurrent model) that the settings leave out
        metadata.put("config", Json.pretty().writeValueAsString(settings));

        Parameters parameters = Parameters.of(model.module());
        SafeTensors.write(out, parameters, metadata);
        return new Exported(out, task.name(), modelName, parameters.numel(), parameters.checksum());
    }

    /** The steps of the checkpoints in {@code store}, oldest first, or {@code none}. */
    private static String checkpointSteps(Path store) {
        if (!Files.isDirectory(store)) {
            return "none";
        }
        try (Stream<Path> dirs = Files.list(store)) {
            List<String> steps = dirs.map(p -> p.getFileName().toString()).filter(n -> n.matches("step-\\d+"))
                    .sorted().map(n -> Long.toString(Long.parseLong(n.substring(5)))).toList();
            return steps.isEmpty() ? "none" : String.join(", ", steps);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
