package dev.gradguard.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The disk fills up part-way through a save: the previous checkpoint must survive and nothing partial is used. */
class FullDiskTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        Torch.load();
        Torch.setThreads(1);
    }

    /** A disk that runs out of space while writing {@code failing}, after half its bytes (or at the rename). */
    private static Disk fullAt(String failing) {
        return new Disk() {
            @Override
            void write(Path file, byte[] bytes) throws IOException {
                if (file.getFileName().toString().equals(failing)) {
                    super.write(file, Arrays.copyOf(bytes, bytes.length / 2));
                    throw new IOException("No space left on device");
                }
                super.write(file, bytes);
            }

            @Override
            byte[] saveArchive(OutputArchive archive, Path file) throws IOException {
                byte[] bytes = super.saveArchive(archive, file);
                if (file.getFileName().toString().equals(failing)) {
                    Files.write(file, Arrays.copyOf(bytes, bytes.length / 2));
                    throw new IOException("No space left on device");
                }
                return bytes;
            }

            @Override
            void moveAtomically(Path from, Path to) throws IOException {
                if (failing.equals("rename")) {
                    throw new IOException("No space left on device");
                }
                super.moveAtomically(from, to);
            }
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"model.pt", "optimizer.pt", "trainer.json", "generator.bin", "meta.json", "manifest.json",
        "rename"})
    void thePreviousCheckpointSurvivesAFullDisk(String failing) throws IOException {
        TinyModels.Net net = TinyModels.net(1, 8);
        Optimizer adam = TinyModels.adam(net);
        Path previous = new CheckpointStore(tmp, 1).save(TinyModels.checkpoint(10, net, adam)).directory();
        String weightsAt10 = Parameters.of(net).checksum();
        TinyModels.step(net, adam, new TinyModels.Data(3).next());

        CheckpointStore full = new CheckpointStore(tmp, 1, fullAt(failing));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> full.save(TinyModels.checkpoint(20, net, adam)));
        String expected = "checkpoint " + tmp.resolve("step-00000020") + ": could not be saved: No space left on device";
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
        assertTrue(e.getMessage().substring(expected.length())
                .matches(" \\(\\d+\\.\\d MiB free on that disk\\); the earlier checkpoints are untouched"), e.getMessage());

        try (Stream<Path> list = Files.list(tmp)) {
            assertEquals(List.of(previous), list.toList(), "the temporary directory is removed, the old one kept");
        }
        LatestCheckpoint latest = full.latestValid();
        assertEquals(previous, latest.checkpoint().orElseThrow().directory());
        assertEquals(List.of(), latest.skipped());

        TinyModels.Net restored = TinyModels.net(2, 8);
        latest.checkpoint().orElseThrow().restoreModel(restored);
        assertEquals(weightsAt10, Parameters.of(restored).checksum());
        assertTrue(Files.isRegularFile(previous.resolve("manifest.json")));
    }
}
