package dev.gradguard.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Checks a file before it is opened: a named pipe blocks its reader until a writer comes (and a writer until a
 * reader comes: forever, usually), a device such as {@code /dev/zero} never ends, and a directory cannot be read
 * or written as a file. Every file path a user can point gradguard at goes through {@link #notRegular} first, and
 * an error names what the path is. A file gradguard writes as its own is never written through a symbolic link
 * ({@link #openToWrite}).
 */
public final class RegularFiles {
    private static final String LINK = "is a symbolic link; gradguard writes its own files, never through a link";

    private RegularFiles() {
    }

    /**
     * What {@code file} is when it exists but is not a regular file (symbolic links followed): "a directory",
     * "a named pipe (FIFO)", "a character device", "a block device", "a socket" or "not a regular file".
     *
     * @return empty when {@code file} is a regular file or does not exist
     */
    public static Optional<String> notRegular(Path file) {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (IOException missingOrUnreadable) {
            return Optional.empty(); // opening it says what is wrong, in the caller's words
        }
        if (attributes.isRegularFile()) {
            return Optional.empty();
        }
        if (attributes.isDirectory()) {
            return Optional.of("a directory");
        }
        return Optional.of(kind(file));
    }

    /**
     * {@link #notRegular} as the reason a message gives: "is a named pipe (FIFO), not a regular file", and so on.
     *
     * @return empty when {@code file} is a regular file or does not exist
     */
    public static Optional<String> whyNotRegular(Path file) {
        return notRegular(file).map(kind -> "is " + kind + ", not a regular file");
    }

    /**
     * Refuses a path that exists but is not a regular file, before it is opened for writing: opening a named pipe
     * to write blocks until a reader comes, and a symbolic link would send the writes into another file.
     *
     * @throws FileSystemException naming the file and what it is: "is a symbolic link; gradguard writes its own
     *     files, never through a link", or {@link #whyNotRegular}
     */
    public static void requireRegularOrAbsent(Path file) throws FileSystemException {
        if (Files.isSymbolicLink(file)) {
            throw new FileSystemException(file.toString(), null, LINK);
        }
        Optional<String> why = whyNotRegular(file);
        if (why.isPresent()) {
            throw new FileSystemException(file.toString(), null, why.get());
        }
    }

    /**
     * Opens a file that gradguard keeps writing (appending to it, cutting it back, locking it), never through a
     * symbolic link: a link where gradguard writes, planted or left over, would send the writes into somebody
     * else's file. The path must be absent (when {@code options} create it) or a regular file; the open itself
     * refuses a link ({@code O_NOFOLLOW}), so a link that appears after the checks is refused too.
     *
     * @throws FileSystemException naming the file and what it is ({@link #requireRegularOrAbsent})
     * @throws IOException when the file cannot be opened
     */
    public static FileChannel openToWrite(Path file, OpenOption... options) throws IOException {
        requireRegularOrAbsent(file);
        Set<OpenOption> all = new HashSet<>(Arrays.asList(options));
        all.add(LinkOption.NOFOLLOW_LINKS);
        try {
            return FileChannel.open(file, all);
        } catch (FileSystemException e) {
            if (Files.isSymbolicLink(file)) {
                throw new FileSystemException(file.toString(), null, LINK);
            }
            throw e;
        }
    }

    /**
     * Why {@code file} cannot be read whole: "is a named pipe (FIFO), not a regular file" (or another kind,
     * see {@link #notRegular}), or "is too large: N bytes, at most M".
     *
     * @return empty when {@code file} is a regular file of at most {@code maxBytes}, or does not exist (opening
     *     it then says what is wrong, in the caller's words)
     */
    public static Optional<String> whyUnreadable(Path file, long maxBytes) {
        Optional<String> why = whyNotRegular(file);
        if (why.isPresent()) {
            return why;
        }
        try {
            long size = Files.size(file);
            return size > maxBytes ? Optional.of("is too large: " + size + " bytes, at most " + maxBytes) : Optional.empty();
        } catch (IOException missingOrUnreadable) {
            return Optional.empty();
        }
    }

    /**
     * The file that stands where a directory above {@code target} would have to be, so that {@code target}
     * cannot be created: its nearest existing ancestor when that is not a directory.
     *
     * @return empty when {@code target}'s nearest existing ancestor is a directory
     */
    public static Optional<Path> fileInTheWay(Path target) {
        for (Path p = target.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
            if (Files.exists(p)) {
                return Files.isDirectory(p) ? Optional.empty() : Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** The kind of a special file, from its POSIX mode where the platform tells it. */
    private static String kind(Path file) {
        try {
            int type = (Integer) Files.getAttribute(file, "unix:mode") & 0170000;
            switch (type) {
                case 0010000:
                    return "a named pipe (FIFO)";
                case 0020000:
                    return "a character device";
                case 0060000:
                    return "a block device";
                case 0140000:
                    return "a socket";
                default:
                    return "not a regular file";
            }
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return "not a regular file";
        }
    }
}
