package dev.gradguard.cli;

import dev.gradguard.dist.DistEnv;
import dev.gradguard.metrics.Json;
import dev.gradguard.run.ConfigFiles;
import dev.gradguard.session.RunDirectory;
import dev.gradguard.session.SessionResult;
import dev.gradguard.checkpoint.CheckpointException;
import dev.gradguard.run.TrainJob;
import dev.gradguard.run.SettingsLayers;
import dev.gradguard.run.TrainSettings;
import dev.gradguard.serve.DashboardServer;
import java.nio.file.Files;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code gradguard train}: trains a built-in task with the guarded loop and writes a run directory. */
@Command(name = "train",
        header = "Train a model with guarded steps: clipping, no NaN in the weights.", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Trains with the guarded loop: gradient clipping, a guard that never lets NaN or inf reach the weights, "
                    + "metrics in <out>/metrics.jsonl and a summary in <out>/summary.json. With no flags it runs the "
                    + "default job (the README gives its measured time) and says whether the model learned.",
            "Settings come from built-in defaults, then --config FILE (YAML or JSON, the flags' names without "
                    + "'--'), then flags."},
        footer = {"", "Exit codes: 0 done, 2 bad flags, config or run directory, 3 bad data, 4 no valid checkpoint "
                + "or a run file that cannot be written, 5 stopped after too many non-finite steps, 130/143 stopped "
                + "by SIGINT/SIGTERM (a checkpoint is saved first; 143 also for a data-parallel rank stopped because "
                + "another rank was signalled)."})
public final class TrainCommand implements Callable<Integer> {
    @Mixin
    SettingOptions.PerRun perRun = new SettingOptions.PerRun();
    @Mixin
    SettingOptions.Shared shared = new SettingOptions.Shared();

    @Option(names = "--resume", description = "continue the run in --out from its newest valid checkpoint (corrupt ones are reported and skipped)")
    boolean resume;

    @Option(names = "--dashboard", paramLabel = "PORT", arity = "0..1", fallbackValue = "6007",
            description = "serve a live dashboard of the runs next to this one on 127.0.0.1:PORT (default 6007) while training")
    Integer dashboard;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML or JSON file with the flags' names as keys (default: none)")
    Path config;
    @Option(names = "--out", paramLabel = "DIR", description = "run directory (default: runs/<task>-<time>)")
    Path out;
    @Option(names = "--overwrite", description = "replace an earlier gradguard run in --out (only the files it wrote; a directory that is not a run is refused)")
    boolean overwrite;
    @Option(names = "--json", description = "print summary.json on standard output")
    boolean json;
    @Option(names = "--quiet", description = "no progress output")
    boolean quiet;
    @Option(names = "--debug", description = "show stack traces of errors")
    boolean debug;

    @Override
    public Integer call() throws Exception {
        SettingsLayers given = SettingsLayers.none();
        if (config != null) {
            given = given.with(ConfigFiles.read(config), config.toString());
        }
        given = given.with(SettingOptions.given(perRun, shared), "command line");
        TrainSettings settings;
        Path dir;
        if (resume) {
            if (out == null) {
                throw new IllegalArgumentException("--resume needs --out, the directory of the run to continue");
            }
            if (overwrite) {
                throw new IllegalArgumentException("--resume and --overwrite contradict each other: pick one");
            }
            dir = out;
            settings = TrainSettings.forResume(ConfigFiles.read(resumableConfig(out)), given);
        } else {
            settings = given.resolve();
            refuseSettingsThatDoNothing(settings, given);
            if (out == null && System.getenv("WORLD_SIZE") != null && !"1".equals(System.getenv("WORLD_SIZE"))) {
                throw new IllegalArgumentException("--out is required in data-parallel runs, so every rank agrees on it");
            }
            dir = out != null ? out : RunDirectory.fresh(Path.of("runs"), settings.problem().name());
        }

        PrintStream progress = quiet ? null : System.err;
        TrainJob.AfterRun say = result -> {
            PrintStream text = json ? System.err : System.out;
            text.println(result.sentence() + (result.interrupted() && result.checkpointDirectory().isPresent()
                    ? " Resume with --resume." : ""));
            text.println("Run directory: " + dir);
            if (result.runDirectory().isPresent() && result.rank() == 0) {
                text.println(result.stoppedEarly() || result.interrupted()
                        ? "Next: continue it with 'gradguard train --resume --out " + dir + "', or look at it with "
                                + "'gradguard report " + dir + "'"
                        : "Next: 'gradguard report " + dir + "' for the charts, or 'tensorboard --logdir " + dir + "'");
            }
            if (json) {
                System.out.println(Json.pretty().writeValueAsString(result.summary()));
            }
            text.flush();
        };
        SessionResult result;
        // in data-parallel runs rank 0 alone serves the dashboard, as it alone writes the run
        boolean mainRank = !DistEnv.isLaunched(System.getenv()) || DistEnv.fromEnvironment().isMain();
        if (dashboard != null && mainRank) {
            Path runsDir = dir.toAbsolutePath().getParent();
            Files.createDirectories(runsDir);
            try (DashboardServer server = DashboardServer.start(runsDir, DashboardServer.DEFAULT_HOST, dashboard)) {
                System.err.println("gradguard: live dashboard at " + server.runUrl(dir.getFileName().toString()));
                result = TrainJob.run(settings, dir, overwrite, progress, System.console() != null, resume, say);
            }
        } else {
            result = TrainJob.run(settings, dir, overwrite, progress, System.console() != null, resume, say);
        }
        if (result.interrupted()) {
            return ExitCodes.TERMINATED;
        }
        return result.stoppedEarly() ? ExitCodes.DIVERGED : ExitCodes.OK;
    }

    /**
     * Refuses a setting the user gave that the run would ignore: {@code momentum} with an optimizer other than
     * SGD (Adam's and AdamW's betas play its part), which gradguard once dropped silently.
     */
    private static void refuseSettingsThatDoNothing(TrainSettings settings, SettingsLayers given) {
        String optimizer = settings.optimization().name();
        if (given.gives("momentum") && !optimizer.equals("sgd")) {
            throw new IllegalArgumentException("'momentum' applies to --optimizer sgd only, not " + optimizer
                    + " (its betas play that part); remove --momentum");
        }
    }

    /**
     * The config.json of the run to resume.
     *
     * @throws IllegalArgumentException when {@code dir} is not a gradguard run
     * @throws CheckpointException when the run has no config.json, so there is nothing to resume
     */
    private static Path resumableConfig(Path dir) {
        // a data-parallel rank other than 0 only reads the run; rank 0 checks the directory for every rank
        boolean mainRank = !DistEnv.isLaunched(System.getenv()) || DistEnv.fromEnvironment().isMain();
        if (mainRank && !RunDirectory.isRun(dir)) {
            throw new IllegalArgumentException("--resume: " + dir + " is not a gradguard run (no "
                    + RunDirectory.MARKER + " marker), so there is nothing to resume");
        }
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new CheckpointException(dir, "there is nothing to resume from: the run has no config.json");
        }
        return config;
    }
}
