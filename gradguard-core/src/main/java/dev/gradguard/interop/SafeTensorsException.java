package dev.gradguard.interop;

import java.nio.file.Path;

/**
 * A safetensors file that cannot be read, or whose tensors do not fit the model they are loaded into. The
 * message is one line: the file, then what is wrong. An {@link IllegalArgumentException}, because the file
 * is an input the caller chose.
 */
public final class SafeTensorsException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;

    /**
     * @param file the file
     * @param reason what is wrong, in one line
     */
    public SafeTensorsException(Path file, String reason) {
        super(file + ": " + reason);
        this.file = file;
    }

    /** The file. */
    public Path file() {
        return file;
    }
}
