package dev.gradguard.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A whole-file write lands whole or not at all, and never writes into a file a link points to. */
class AtomicFilesTest {
    @TempDir
    Path tmp;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesAndReplacesAFileLeavingNoTemporaryFile() throws Exception {
        Path target = tmp.resolve("summary.json");
        AtomicFiles.writeString(target, "first");
        AtomicFiles.writeString(target, "second, longer");
        assertEquals("second, longer", Files.readString(target));
        assertEquals(List.of("summary.json"), names());
        Path plain = Files.writeString(tmp.resolve("plain"), "x");
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(target),
                "the same permissions as a file written plainly (the umask applies)");
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTemporaryFile() throws Exception {
        Path target = Files.writeString(tmp.resolve("model.pt"), "the old weights");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(target, channel -> {
            channel.write(ByteBuffer.wrap("half of the new".getBytes()));
            throw new IOException("No space left on device");
        }));
        assertEquals("No space left on device", e.getMessage());
        assertEquals("the old weights", Files.readString(target));
        assertEquals(List.of("model.pt"), names());
    }

    @Test
    void aLinkAtTheTargetIsReplacedAndTheFileItPointsToIsLeftAlone() throws Exception {
        Path mine = Files.writeString(Files.createDirectories(tmp.resolve("user")).resolve("notes.txt"), "the user's notes");
        Path target = Files.createSymbolicLink(tmp.resolve("summary.json"), mine);
        AtomicFiles.writeString(target, "{}");
        assertEquals("the user's notes", Files.readString(mine));
        assertFalse(Files.isSymbolicLink(target));
        assertEquals("{}", Files.readString(target));
    }

    @Test
    void linksPlantedAtTemporaryNamesAreNeverOpened() throws Exception {
        Path mine = Files.writeString(tmp.resolve("mine.txt"), "the user's file");
        Files.createSymbolicLink(tmp.resolve("model.pt.tmp"), mine);
        Files.createSymbolicLink(tmp.resolve(".model.pt.tmp"), mine);
        for (int i = 0; i < 20; i++) {
            AtomicFiles.write(tmp.resolve("model.pt"), new byte[] {1, 2, 3, (byte) i});
        }
        assertEquals("the user's file", Files.readString(mine));
        assertTrue(names().containsAll(List.of("model.pt", "model.pt.tmp", ".model.pt.tmp")));
        assertEquals(4, names().size(), names().toString());
    }
}
