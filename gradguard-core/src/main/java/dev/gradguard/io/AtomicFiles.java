package dev.gradguard.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file whole or not at all: into a new temporary file beside it, forced to the device, then renamed over
 * the target in one step. Readers see the old content or the new, never part of either; a failed write (a full
 * disk) leaves the old file as it was and no temporary file behind.
 *
 * <p>Nothing already on the disk is ever opened. The temporary file, {@code .<name>.<random>.tmp}, is created
 * exclusively ({@code O_CREAT|O_EXCL}, which never follows a symbolic link), and the rename replaces the target's
 * directory entry: when the target is a symbolic link, the link is replaced and the file it points to is left
 * alone. So a link planted where gradguard writes cannot send its data into somebody else's file.
 */
public final class AtomicFiles {
    private static final int ATTEMPTS = 16;

    private AtomicFiles() {
    }

    /** Writes what a new file holds, given its channel. */
    @FunctionalInterface
    public interface Content {
        void writeTo(FileChannel channel) throws IOException;
    }

    /**
     * Writes {@code target} whole or not at all.
     *
     * @throws IOException when the temporary file cannot be created or written, or the rename fails; the target is
     *     then unchanged
     */
    public static void write(Path target, Content content) throws IOException {
        Path tmp = temporaryName(target);
        FileChannel channel;
        for (int attempt = 1; ; attempt++) {
            try {
                channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                break;
            } catch (FileAlreadyExistsException taken) {
                if (attempt == ATTEMPTS) {
                    throw taken;
                }
                tmp = temporaryName(target);
            }
        }
        try {
            try (FileChannel out = channel) {
                content.writeTo(out);
                out.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** {@code .<name>.<random>.tmp} beside the target. */
    private static Path temporaryName(Path target) throws IOException {
        Path name = target.getFileName();
        if (name == null) {
            throw new IOException(target + " names no file");
        }
        return target.resolveSibling(String.format(".%s.%08x.tmp", name, ThreadLocalRandom.current().nextInt()));
    }

    /** Writes {@code bytes} as {@code target}, whole or not at all; see {@link #write(Path, Content)}. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, channel -> writeFully(channel, ByteBuffer.wrap(bytes)));
    }

    /** Writes {@code text} in UTF-8 as {@code target}, whole or not at all; see {@link #write(Path, Content)}. */
    public static void writeString(Path target, String text) throws IOException {
        write(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes the buffer's remaining bytes; a channel may take fewer than it is given. */
    public static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }
}
