package dev.gradguard.cli;

import dev.gradguard.run.TrainSettings;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code gradguard} command line: a thin shell over the library. */
@Command(name = "gradguard", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Train deep-learning models on libtorch without letting them collapse.",
        subcommands = {TrainCommand.class, CompareCommand.class, ReportCommand.class, ServeCommand.class, ExportCommand.class,
            BenchCommand.class, LaunchCommand.class, DoctorCommand.class, ShellCommand.class,
            CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (see {@link ExitCodes}). */
    public static int run(String... args) {
        ConsoleLog.install();
        // the help texts name the defaults through ${gradguard.default.KEY}, from the one place they are defined
        TrainSettings.defaults().asMap()
                .forEach((key, value) -> System.setProperty("gradguard.default." + key, String.valueOf(value)));
        CommandLine cli = new CommandLine(new Main());
        cli.setUsageHelpAutoWidth(true);
        cli.setExecutionExceptionHandler(new ErrorHandler());
        cli.setParameterExceptionHandler(new ErrorHandler.Usage());
        // Path.of("") is the working directory: a flag given an empty path would quietly write there
        cli.registerConverter(Path.class, text -> {
            if (text.isBlank()) {
                throw new CommandLine.TypeConversionException("an empty path; name a file or directory");
            }
            return Path.of(text);
        });
        return cli.execute(args);
    }
}
