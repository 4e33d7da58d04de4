package dev.gradguard.cli;

import dev.gradguard.checkpoint.CheckpointException;
import dev.gradguard.dist.CollectiveException;
import dev.gradguard.engine.NativeLoadException;
import dev.gradguard.metrics.tensorboard.CorruptEventFileException;
import dev.gradguard.task.DataException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Turns what a user can cause into one line on standard error and an exit code; a stack trace only with
 * {@code --debug}.
 */
final class ErrorHandler implements IExecutionExceptionHandler {

    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, ParseResult parsed) {
        boolean debug = parsed.hasMatchedOption("--debug")
                || (parsed.subcommand() != null && parsed.subcommand().hasMatchedOption("--debug"));
        int code = exitCode(e);
        PrintWriter err = cmd.getErr();
        boolean trace = debug || code == ExitCodes.INTERNAL;
        err.println("gradguard: error: " + oneLine(e) + (trace ? "" : " (--debug shows details)"));
        if (trace) {
            e.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    static int exitCode(Throwable e) {
        if (e instanceof DataException) {
            return ExitCodes.DATA;
        }
        if (e instanceof CollectiveException) {
            return ExitCodes.PEER;
        }
        // a path the user named that cannot be used (permissions, an immutable file, not a directory)
        if (e instanceof IllegalArgumentException || e instanceof NativeLoadException
                || e instanceof CorruptEventFileException || e instanceof FileSystemException
                || e instanceof java.io.UncheckedIOException u && u.getCause() instanceof FileSystemException) {
            return ExitCodes.USAGE;
        }
        // the run's state that cannot be read or written (a full disk, no valid checkpoint)
        if (e instanceof CheckpointException || e instanceof java.io.IOException
                || e instanceof java.io.UncheckedIOException) {
            return ExitCodes.CHECKPOINT;
        }
        return ExitCodes.INTERNAL;
    }

    private static String oneLine(Throwable e) {
        if (e instanceof FileSystemException f && f.getFile() != null) {
            // the JDK's message is the bare path, or "path: reason"
            return "cannot use " + f.getFile() + ": " + (f.getReason() != null ? f.getReason()
                    : f instanceof AccessDeniedException ? "permission denied"
                    : f instanceof NoSuchFileException ? "no such file or directory"
                    : f.getClass().getSimpleName());
        }
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            m = e.getClass().getSimpleName();
        }
        return m.replace('\n', ' ');
    }

    /** Bad flags: picocli's message, a hint, exit code 2. */
    static final class Usage implements IParameterExceptionHandler {
        @Override
        public int handleParseException(ParameterException e, String[] args) {
            CommandLine cmd = e.getCommandLine();
            PrintWriter err = cmd.getErr();
            String suggestion = "";
            if (e instanceof CommandLine.UnmatchedArgumentException unmatched && !unmatched.getSuggestions().isEmpty()) {
                suggestion = " (did you mean " + String.join(" or ", unmatched.getSuggestions()) + "?)";
            }
            err.println("gradguard: error: " + e.getMessage().replace('\n', ' ') + suggestion + "; see '"
                    + cmd.getCommandSpec().qualifiedName() + " --help'");
            err.flush();
            return ExitCodes.USAGE;
        }
    }
}
