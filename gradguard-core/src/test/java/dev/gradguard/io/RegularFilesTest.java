package dev.gradguard.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a path is, as error messages name it, for every kind of file the checks meet. */
class RegularFilesTest {
    @TempDir
    Path tmp;

    @Test
    void namesWhatAPathIsWhenItIsNotARegularFile() throws Exception {
        Path file = Files.writeString(tmp.resolve("a.txt"), "abc");
        assertEquals(Optional.empty(), RegularFiles.notRegular(file));
        assertEquals(Optional.empty(), RegularFiles.notRegular(tmp.resolve("absent")), "opening it says so");
        assertEquals(Optional.of("a directory"), RegularFiles.notRegular(tmp));
        assertEquals(Optional.of("a directory"), RegularFiles.notRegular(Files.createSymbolicLink(tmp.resolve("l"), tmp)),
                "links are followed");
        Path zero = Path.of("/dev/zero");
        Assumptions.assumeTrue(Files.exists(zero), "no /dev/zero here");
        assertEquals(Optional.of("a character device"), RegularFiles.notRegular(zero));
        Path fifo = tmp.resolve("pipe");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        Assumptions.assumeTrue(p.waitFor() == 0, "mkfifo is not available: cannot make a named pipe");
        assertEquals(Optional.of("a named pipe (FIFO)"), RegularFiles.notRegular(fifo));
    }

    @Test
    void aPathThatIsNotARegularFileIsRefusedBeforeItIsOpened() throws Exception {
        Path file = Files.writeString(tmp.resolve("a.txt"), "abc");
        RegularFiles.requireRegularOrAbsent(file);
        RegularFiles.requireRegularOrAbsent(tmp.resolve("absent"));
        FileSystemException e = assertThrows(FileSystemException.class, () -> RegularFiles.requireRegularOrAbsent(tmp));
        assertEquals(tmp + ": is a directory, not a regular file", e.getMessage());
        assertEquals(Optional.of("is a directory, not a regular file"), RegularFiles.whyNotRegular(tmp));
        assertEquals(Optional.empty(), RegularFiles.whyNotRegular(file));
    }

    @Test
    void aFileToWriteIsNeverOpenedThroughASymbolicLink() throws Exception {
        Path mine = Files.writeString(tmp.resolve("mine.txt"), "the user's file");
        Path link = Files.createSymbolicLink(tmp.resolve("metrics.jsonl"), mine);
        String expected = link + ": is a symbolic link; gradguard writes its own files, never through a link";
        assertEquals(expected, assertThrows(FileSystemException.class,
                () -> RegularFiles.openToWrite(link, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING))
                .getMessage());
        assertEquals(expected, assertThrows(FileSystemException.class, () -> RegularFiles.requireRegularOrAbsent(link))
                .getMessage());
        Path dangling = Files.createSymbolicLink(tmp.resolve("lock"), tmp.resolve("absent"));
        assertThrows(FileSystemException.class, () -> RegularFiles.openToWrite(dangling, StandardOpenOption.CREATE,
                StandardOpenOption.WRITE));
        assertEquals("the user's file", Files.readString(mine));
        assertFalse(Files.exists(tmp.resolve("absent")), "a link to nothing is not followed to create its target");

        Path own = tmp.resolve("own.jsonl");
        try (FileChannel channel = RegularFiles.openToWrite(own, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap("a".getBytes()));
        }
        assertEquals("a", Files.readString(own));
    }

    @Test
    void whyUnreadableNamesTheKindOrTheSize() throws Exception {
        Path file = Files.writeString(tmp.resolve("a.txt"), "abcdef");
        assertEquals(Optional.empty(), RegularFiles.whyUnreadable(file, 6));
        assertEquals(Optional.of("is too large: 6 bytes, at most 5"), RegularFiles.whyUnreadable(file, 5));
        assertEquals(Optional.of("is a directory, not a regular file"), RegularFiles.whyUnreadable(tmp, 5));
        assertEquals(Optional.empty(), RegularFiles.whyUnreadable(tmp.resolve("absent"), 5));
    }
}
