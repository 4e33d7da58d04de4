package dev.gradguard.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.engine.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Optimizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CheckpointStoreTest {
    @TempDir
    Path tmp;

    private TinyModels.Net net;
    private Optimizer adam;

    @BeforeAll
    static void load() {
        Torch.load();
        Torch.setThreads(1);
    }

    @BeforeEach
    void model() {
        net = TinyModels.net(1, 8);
        adam = TinyModels.adam(net);
    }

    private List<String> names() throws IOException {
        try (Stream<Path> list = Files.list(tmp)) {
            return list.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void anEmptyOrAbsentStoreHasNoCheckpoint() {
        LatestCheckpoint latest = new CheckpointStore(tmp.resolve("absent")).latestValid();
        assertTrue(latest.checkpoint().isEmpty());
        assertTrue(latest.skipped().isEmpty());
    }

    @Test
    void onlyTheLastKCheckpointsAreKept() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp, 2);
        for (long step = 10; step <= 40; step += 10) {
            store.save(TinyModels.checkpoint(step, net, adam));
        }
        assertEquals(List.of("step-00000030", "step-00000040"), names());
        assertEquals(40, store.latestValid().checkpoint().orElseThrow().step());
        assertEquals(3, new CheckpointStore(tmp).keepLast());
    }

    @Test
    void aSaveAfterResumingFromAnOlderCheckpointKeepsItselfAndLaterSteps() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp, 1);
        store.save(TinyModels.checkpoint(20, net, adam));
        store.save(TinyModels.checkpoint(30, net, adam));
        SavedCheckpoint saved = store.save(TinyModels.checkpoint(25, net, adam));
        assertEquals(List.of("step-00000025", "step-00000030"), names());
        assertEquals(List.of(), saved.removed());
    }

    @Test
    void savingTheSameStepAgainReplacesIt() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp);
        store.save(TinyModels.checkpoint(5, net, adam));
        Files.write(tmp.resolve("step-00000005").resolve("model.pt"), new byte[] {1}, StandardOpenOption.APPEND);
        store.save(TinyModels.checkpoint(5, net, adam));
        assertEquals(List.of("step-00000005"), names());
        LatestCheckpoint latest = store.latestValid();
        assertEquals(5, latest.checkpoint().orElseThrow().step());
        assertEquals(List.of(), latest.skipped());
    }

    /** Ways a checkpoint directory is damaged, and the words its reason must hold. */
    enum Damage {
        TRUNCATED_MODEL("model.pt has ") {
            @Override
            void apply(Path dir) throws IOException {
                Path file = dir.resolve("model.pt");
                byte[] bytes = Files.readAllBytes(file);
                Files.write(file, Arrays.copyOf(bytes, bytes.length / 2));
            }
        },
        FLIPPED_BYTE_IN_OPTIMIZER("optimizer.pt does not match its SHA-256") {
            @Override
            void apply(Path dir) throws IOException {
                Path file = dir.resolve("optimizer.pt");
                byte[] bytes = Files.readAllBytes(file);
                bytes[bytes.length / 2] ^= 0x01;
                Files.write(file, bytes);
            }
        },
        FLIPPED_BYTE_IN_TRAINER_STATE("trainer.json does not match its SHA-256") {
            @Override
            void apply(Path dir) throws IOException {
                Path file = dir.resolve("trainer.json");
                byte[] bytes = Files.readAllBytes(file);
                bytes[bytes.length - 3] ^= 0x01;
                Files.write(file, bytes);
            }
        },
        MISSING_MANIFEST("has no manifest.json") {
            @Override
            void apply(Path dir) throws IOException {
                Files.delete(dir.resolve("manifest.json"));
            }
        },
        MALFORMED_MANIFEST("manifest.json is not valid JSON") {
            @Override
            void apply(Path dir) throws IOException {
                Path file = dir.resolve("manifest.json");
                byte[] bytes = Files.readAllBytes(file);
                Files.write(file, Arrays.copyOf(bytes, bytes.length - 10));
            }
        },
        MISSING_GENERATOR_STATE("generator.bin is missing") {
            @Override
            void apply(Path dir) throws IOException {
                Files.delete(dir.resolve("generator.bin"));
            }
        },
        NEWER_FORMAT("format version 2; this build reads version 1") {
            @Override
            void apply(Path dir) throws IOException {
                Path file = dir.resolve("manifest.json");
                Files.writeString(file, Files.readString(file).replace("\"format_version\" : 1", "\"format_version\" : 2"));
            }
        };

        final String reason;

        Damage(String reason) {
            this.reason = reason;
        }

        abstract void apply(Path dir) throws IOException;
    }

    @ParameterizedTest
    @EnumSource(Damage.class)
    void aDamagedCheckpointIsReportedAndSkippedForThePreviousOne(Damage damage) throws IOException {
        CheckpointStore store = new CheckpointStore(tmp);
        store.save(TinyModels.checkpoint(10, net, adam));
        Path newest = store.save(TinyModels.checkpoint(20, net, adam)).directory();
        damage.apply(newest);

        LatestCheckpoint latest = store.latestValid();
        assertEquals(10, latest.checkpoint().orElseThrow().step());
        assertEquals(1, latest.skipped().size());
        SkippedCheckpoint skipped = latest.skipped().get(0);
        assertEquals(newest, skipped.path());
        assertTrue(skipped.reason().contains(damage.reason), skipped.reason());
        assertTrue(skipped.toString().startsWith(newest + ": "));

        CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointStore.load(newest));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(e.getMessage().startsWith("checkpoint " + newest + ": "), e.getMessage());
    }

    @Test
    void aLeftoverTemporaryDirectoryIsReportedNeverLoadedAndRemovedByTheNextSave() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp);
        Path good = store.save(TinyModels.checkpoint(10, net, adam)).directory();
        // a save that was killed after its manifest but before the rename: complete, yet never used
        Path leftover = Files.createDirectory(tmp.resolve(".tmp-step-00000020-0badf00d"));
        try (Stream<Path> files = Files.list(good)) {
            for (Path f : files.toList()) {
                Files.copy(f, leftover.resolve(f.getFileName()));
            }
        }

        LatestCheckpoint latest = store.latestValid();
        assertEquals(good, latest.checkpoint().orElseThrow().directory());
        assertEquals(List.of(leftover), latest.skipped().stream().map(SkippedCheckpoint::path).toList());
        assertTrue(latest.skipped().get(0).reason().startsWith("unfinished save"));

        SavedCheckpoint next = store.save(TinyModels.checkpoint(30, net, adam));
        assertEquals(List.of(leftover), next.removed());
        assertEquals(List.of("step-00000010", "step-00000030"), names());
    }

    @Test
    void keepLastMustBePositive() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CheckpointStore(tmp, 0));
        assertEquals("keep-last must be at least 1, got 0", e.getMessage());
    }
}
