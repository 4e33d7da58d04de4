package dev.gradguard.cli;

/** The exit codes of every command. */
public final class ExitCodes {
    /** The command did what was asked. */
    public static final int OK = 0;
    /** An unexpected internal error; run again with {@code --debug} and report the stack trace. */
    public static final int INTERNAL = 1;
    /** Bad flags, config files or values. */
    public static final int USAGE = 2;
    /** Bad data: a data file missing, empty, unreadable or malformed. */
    public static final int DATA = 3;
    /**
     * The run's state could not be read or written: no valid checkpoint to resume from, a checkpoint that does not
     * fit, or a write that failed (a full disk); earlier checkpoints stay valid.
     */
    public static final int CHECKPOINT = 4;
    /** Training stopped because too many consecutive steps were non-finite. */
    public static final int DIVERGED = 5;
    /**
     * A data-parallel job could not go on: a peer did not join within {@code --rdzv-timeout}, or did not answer
     * within {@code --collective-timeout}, or its connection closed; the message names the rank.
     */
    public static final int PEER = 6;
    /**
     * Stopped by SIGTERM (the JVM's own status after the signal); also returned by a data-parallel rank that
     * stopped because another rank was signalled.
     */
    public static final int TERMINATED = 143;

    private ExitCodes() {
    }
}
