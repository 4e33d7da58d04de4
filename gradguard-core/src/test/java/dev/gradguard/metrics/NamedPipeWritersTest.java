package dev.gradguard.metrics;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.metrics.tensorboard.EventFileWriter;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A metrics or event file that is a named pipe would block the run when opened to write; it is refused. */
class NamedPipeWritersTest {
    @TempDir
    Path tmp;

    private Path fifo(String name) throws Exception {
        Path path = tmp.resolve(name);
        Process p = new ProcessBuilder("mkfifo", path.toString()).redirectErrorStream(true).start();
        Assumptions.assumeTrue(p.waitFor() == 0, "mkfifo is not available: cannot make a named pipe");
        return path;
    }

    @Test
    void aNamedPipeIsRefusedInsteadOfBlocking() throws Exception {
        Path metrics = fifo("metrics.jsonl");
        Path events = fifo("events.out.tfevents.1.host.1.0");
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            FileSystemException a = assertThrows(FileSystemException.class, () -> new MetricsJsonlWriter(metrics));
            assertTrue(a.getMessage().endsWith(metrics + ": is a named pipe (FIFO), not a regular file"), a.getMessage());
            assertThrows(FileSystemException.class, () -> MetricsJsonlWriter.resume(metrics, 0));
            FileSystemException b = assertThrows(FileSystemException.class,
                    () -> EventFileWriter.resume(events, 0, Duration.ZERO));
            assertTrue(b.getMessage().endsWith(events + ": is a named pipe (FIFO), not a regular file"), b.getMessage());
        });
    }
}
