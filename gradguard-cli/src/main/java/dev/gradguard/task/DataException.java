package dev.gradguard.task;

import java.nio.file.Path;

/**
 * A data file a task cannot use: missing, unreadable, empty, not UTF-8 text, or too short. The message
 * is one line naming the file and what is wrong with it, fit to show a user as is.
 */
public class DataException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final transient Path path;

    public DataException(Path path, String problem) {
        super("data file " + path + ": " + problem);
        this.path = path;
    }

    public DataException(Path path, String problem, Throwable cause) {
        this(path, problem);
        initCause(cause);
    }

    /** The offending file. */
    public Path path() {
        return path;
    }
}
