package dev.gradguard.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.checkpoint.CheckpointStore;
import dev.gradguard.cli.ExitCodes;
import dev.gradguard.cli.Main;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run on a disk that fills up: a real 200 KiB tmpfs (mounting needs root; skipped where it is not allowed).
 * libtorch's own file writer used to abort the JVM there (exit 134, "terminate called after throwing an instance
 * of 'std::__ios_failure'") and leave a partial checkpoint behind.
 */
class FullDiskRunTest {
    @TempDir
    Path tmp;
    private Path disk;
    private boolean mounted;

    @BeforeEach
    void mount() throws Exception {
        disk = Files.createDirectories(tmp.resolve("disk"));
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", disk.toString())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        mounted = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        Assumptions.assumeTrue(mounted, "a 200 KiB tmpfs cannot be mounted here (needs root): " + output.strip());
    }

    @AfterEach
    void unmount() throws Exception {
        if (mounted) {
            new ProcessBuilder("umount", disk.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aFullDiskIsOneLineAndExit4AndTheEarlierCheckpointsStayValid() throws Exception {
        Path out = disk.resolve("run");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "train", "--task", "adding", "--length",
                "12", "--steps", "2000", "--eval-samples", "100", "--threads", "1", "--quiet", "--checkpoint-every", "5",
                "--out", out.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(5, TimeUnit.MINUTES));
        assertEquals(ExitCodes.CHECKPOINT, p.exitValue(), output);
        assertFalse(output.contains("terminate called"), output);
        List<String> lines = output.lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), output);
        assertTrue(lines.get(0).startsWith("gradguard: error: "), output);
        assertTrue(lines.get(0).contains("No space left on device"), output);

        Path checkpoints = out.resolve(CheckpointStore.DIRECTORY_NAME);
        try (Stream<Path> s = Files.list(checkpoints)) {
            assertTrue(s.noneMatch(c -> c.getFileName().toString().startsWith(".tmp-")), "no partial checkpoint is left");
        }
        assertTrue(new CheckpointStore(checkpoints).latestValid().checkpoint().isPresent(), "an earlier checkpoint loads");
    }
}
