package dev.gradguard.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.bytedeco.pytorch.OutputArchive;

/**
 * The file-system steps of a save, in one seam so that tests can make the disk fail part-way (a full
 * disk). Every write ends with an fsync: a checkpoint is only as good as what reached the device.
 */
class Disk {
    static final Disk SYSTEM = new Disk();

    void createDirectory(Path dir) throws IOException {
        Files.createDirectories(dir);
    }

    /** Writes a new file and forces it to the device. */
    void write(Path file, byte[] bytes) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
    }

    /**
     * Saves a libtorch archive as a new file and forces it to the device. The archive is serialized in memory and
     * written by Java, so a full disk is an {@link IOException}, never a native abort.
     *
     * @return the bytes written
     */
    byte[] saveArchive(OutputArchive archive, Path file) throws IOException {
        byte[] bytes;
        try {
            bytes = Archives.bytes(archive);
        } catch (RuntimeException e) {
            throw new IOException("libtorch could not serialize " + file.getFileName() + ": "
                    + CheckpointException.firstLine(e), e);
        }
        write(file, bytes);
        return bytes;
    }

    /** Forces a directory's entries (the names of the files in it) to the device; works on Linux. */
    void forceDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** Renames a directory in one step: readers see the old name or the new one, nothing between. */
    void moveAtomically(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    }
}
