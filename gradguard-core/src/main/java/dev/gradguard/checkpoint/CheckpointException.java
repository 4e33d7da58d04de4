package dev.gradguard.checkpoint;

import java.nio.file.Path;

/**
 * A checkpoint could not be saved, read or applied. The message is one line that names the checkpoint
 * directory and what is wrong with it; the CLI maps this exception to exit code 4.
 */
public final class CheckpointException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient Path checkpoint;
    private final String reason;

    public CheckpointException(Path checkpoint, String reason) {
        this(checkpoint, reason, null);
    }

    public CheckpointException(Path checkpoint, String reason, Throwable cause) {
        super("checkpoint " + checkpoint + ": " + reason, cause);
        this.checkpoint = checkpoint;
        this.reason = reason;
    }

    /** The checkpoint directory concerned (for a failed save, the directory it would have had). */
    public Path checkpoint() {
        return checkpoint;
    }

    /** What is wrong, without the directory. */
    public String reason() {
        return reason;
    }

    /**
     * The first line of an exception's message. libtorch's errors reach Java as a {@code RuntimeException}
     * whose message goes on with a C++ stack trace.
     */
    static String firstLine(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getSimpleName();
        }
        int newline = message.indexOf('\n');
        return (newline < 0 ? message : message.substring(0, newline)).trim();
    }
}
