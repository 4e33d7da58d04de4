package dev.gradguard.metrics.tensorboard;

import java.nio.file.Path;

/** A record of an event file failed its checksum or does not decode. */
public final class CorruptEventFileException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final long offset;

    CorruptEventFileException(Path file, long offset, String problem) {
        super("corrupt event file " + file + ": record at byte " + offset + ": " + problem);
        this.file = file;
        this.offset = offset;
    }

    /** The event file. */
    public Path file() {
        return file;
    }

    /** Where the bad record starts, in bytes from the start of the file. */
    public long offset() {
        return offset;
    }
}
