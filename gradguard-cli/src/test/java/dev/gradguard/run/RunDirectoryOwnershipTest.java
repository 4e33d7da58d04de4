package dev.gradguard.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gradguard.checkpoint.CheckpointStore;
import dev.gradguard.cli.ExitCodes;
import dev.gradguard.cli.Main;
import dev.gradguard.metrics.Json;
import dev.gradguard.session.RunDirectory;
import dev.gradguard.testing.ConsoleCapture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A run directory is gradguard's only when it says so, and nothing a user owns is ever deleted or changed. */
class RunDirectoryOwnershipTest {
    @TempDir
    Path tmp;
    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    private static int train(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--task", "adding", "--length", "12",
                "--eval-samples", "100", "--threads", "1", "--quiet", "--checkpoint-every", "4", "--out", out.toString()));
        args.addAll(List.of(extra));
        if (!args.contains("--steps")) {
            args.addAll(List.of("--steps", "12"));
        }
        return Main.run(args.toArray(new String[0]));
    }

    /** Every file under {@code dir} (lock files aside) with its content's hash. */
    private static TreeMap<String, String> contents(Path dir) throws Exception {
        TreeMap<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.naturalOrder()).toList()) {
                if (Files.isRegularFile(p) && !p.getFileName().toString().equals(RunDirectory.LOCK)) {
                    byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
                    out.put(dir.relativize(p).toString(), HexFormat.of().formatHex(digest));
                }
            }
        }
        return out;
    }

    /** Replaces a checkpoint's file and makes its manifest vouch for the new bytes, as a hostile edit would. */
    private static void replaceVouchedFor(Path checkpoint, String file, byte[] bytes) throws Exception {
        Files.write(checkpoint.resolve(file), bytes);
        ObjectNode manifest = (ObjectNode) Json.compact().readTree(checkpoint.resolve("manifest.json").toFile());
        ObjectNode entry = (ObjectNode) manifest.get("files").get(file);
        entry.put("size", bytes.length);
        entry.put("sha256", HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
        Files.writeString(checkpoint.resolve("manifest.json"), Json.pretty().writeValueAsString(manifest));
    }

    @Test
    void overwriteRefusesADirectoryThatIsNotARunAndDeletesNothing() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("mine"));
        Files.writeString(dir.resolve("notes.txt"), "notes");
        Files.writeString(dir.resolve("config.json"), "{\"mine\": true}");
        Files.writeString(dir.resolve("model.pt"), "my model");
        Files.writeString(dir.resolve("events.out.tfevents.mine"), "my events");
        Files.createDirectories(dir.resolve("checkpoints/mine"));
        Files.writeString(dir.resolve("checkpoints/mine/weights.bin"), "my weights");
        var before = contents(dir);

        assertEquals(ExitCodes.USAGE, train(dir, "--overwrite"));
        assertTrue(console.err().contains("is not a gradguard run (no .gradguard-run marker)"), console.err());
        assertEquals(1, console.err().lines().count(), console.err());
        assertEquals(before, contents(dir));
        assertEquals(ExitCodes.USAGE, train(dir));
        assertEquals(ExitCodes.USAGE, train(dir, "--resume"));
        assertEquals(before, contents(dir));
    }

    @Test
    void overwriteRemovesOnlyTheFilesTheRunWrote() throws Exception {
        Path dir = tmp.resolve("run");
        assertEquals(0, train(dir), console.err());
        Files.writeString(dir.resolve("notes.txt"), "the user's notes");
        Files.createDirectories(dir.resolve("checkpoints/mine"));
        Files.writeString(dir.resolve("checkpoints/mine/weights.bin"), "the user's weights");
        Files.writeString(dir.resolve("events.out.tfevents.mine"), "the user's events");
        String oldEvents;
        try (Stream<Path> s = Files.list(dir)) {
            oldEvents = s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(RunDirectory.EVENT_FILE_PREFIX) && !n.endsWith(".mine")).findFirst().orElseThrow();
        }
        String oldRunId = Json.compact().readTree(dir.resolve(RunDirectory.MARKER).toFile()).get("run_id").asText();

        assertEquals(0, train(dir, "--overwrite", "--steps", "8"), console.err());
        assertEquals("the user's notes", Files.readString(dir.resolve("notes.txt")));
        assertEquals("the user's weights", Files.readString(dir.resolve("checkpoints/mine/weights.bin")));
        assertEquals("the user's events", Files.readString(dir.resolve("events.out.tfevents.mine")));
        assertFalse(Files.exists(dir.resolve(oldEvents)), "the earlier run's event file is gone");
        assertFalse(Files.exists(dir.resolve("checkpoints/step-00000012")), "the earlier run's checkpoints are gone");
        assertTrue(Files.isDirectory(dir.resolve("checkpoints/step-00000008")));
        JsonNode marker = Json.compact().readTree(dir.resolve(RunDirectory.MARKER).toFile());
        assertFalse(oldRunId.equals(marker.get("run_id").asText()), "a new run id");
        List<String> recorded = new ArrayList<>();
        marker.get("files").forEach(f -> recorded.add(f.asText()));
        assertTrue(recorded.containsAll(List.of("config.json", "metrics.jsonl", "checkpoints/", "model.pt", "summary.json")),
                recorded.toString());
        assertFalse(recorded.contains("notes.txt"));
        assertEquals(8, Json.compact().readTree(dir.resolve("summary.json").toFile()).get("steps").asInt());
    }

    @Test
    void resumeWithNoCheckpointRefusesAndChangesNothing() throws Exception {
        Path dir = tmp.resolve("finished");
        assertEquals(0, train(dir), console.err());
        RunDirectory.deleteTree(dir.resolve(CheckpointStore.DIRECTORY_NAME));
        var before = contents(dir);
        console.reset();
        assertEquals(ExitCodes.CHECKPOINT, train(dir, "--resume"));
        assertTrue(console.err().contains("there is nothing to resume from: no checkpoint"), console.err());
        assertEquals(1, console.err().lines().count(), console.err());
        assertEquals(before, contents(dir));
    }

    @Test
    void aCheckpointThatVerifiesButDoesNotLoadChangesNothing() throws Exception {
        Path dir = tmp.resolve("run");
        assertEquals(0, train(dir), console.err());
        Path newest = dir.resolve("checkpoints/step-00000012");
        // a model archive that is not one, with a manifest that vouches for it
        replaceVouchedFor(newest, "model.pt", "not a libtorch archive".getBytes());
        var before = contents(dir);

        console.reset();
        assertEquals(ExitCodes.CHECKPOINT, train(dir, "--resume", "--steps", "16"));
        assertEquals(before, contents(dir), "metrics.jsonl and the event file are not cut back");
    }

    @Test
    void aSecondProcessCannotOpenARunThatIsInUse() throws Exception {
        Path dir = tmp.resolve("busy");
        assertEquals(0, train(dir), console.err());
        var before = contents(dir);
        try (RunDirectory held = RunDirectory.open(dir, RunDirectory.Mode.RESUME)) {
            console.reset();
            assertEquals(ExitCodes.USAGE, train(dir, "--resume", "--steps", "16"));
            assertTrue(console.err().contains("is in use by another gradguard run (pid "
                    + ProcessHandle.current().pid() + ")"), console.err());
            assertEquals(ExitCodes.USAGE, train(dir, "--overwrite"));
            assertEquals(before, contents(dir));
        }
        // a lock file left by a process that died holds no lock: the run resumes
        Files.writeString(dir.resolve(RunDirectory.LOCK), "999999\n");
        assertEquals(0, train(dir, "--resume", "--steps", "16"), console.err());
        assertEquals(16, Json.compact().readTree(dir.resolve("summary.json").toFile()).get("steps").asInt());
    }

    @Test
    void twoRunsStartedTogetherIntoOneDirectoryDoNotBothWrite() throws Exception {
        Path dir = tmp.resolve("race");
        List<Process> runs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            runs.add(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                    System.getProperty("java.class.path"), Main.class.getName(), "train", "--task", "adding", "--steps",
                    "30", "--length", "12", "--eval-samples", "100", "--threads", "1", "--quiet", "--out", dir.toString())
                    .redirectErrorStream(true).start());
        }
        List<Integer> codes = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        for (Process p : runs) {
            outputs.add(new String(p.getInputStream().readAllBytes()));
            codes.add(p.waitFor());
        }
        codes.sort(Comparator.naturalOrder());
        assertEquals(List.of(0, ExitCodes.USAGE), codes, String.join("\n---\n", outputs));
        assertTrue(String.join("", outputs).matches("(?s).*(is in use by another gradguard run \\(pid \\d+\\)|already holds files).*"),
                String.join("\n---\n", outputs));
        assertEquals(30, Files.readAllLines(dir.resolve("metrics.jsonl")).size(), "one run's 30 steps, whole");
    }

    @Test
    void aFreshRunWritesItsMarkerFirstAndRecordsEveryFile() throws IOException {
        Path dir = tmp.resolve("fresh");
        assertEquals(0, train(dir), console.err());
        JsonNode marker = Json.compact().readTree(dir.resolve(RunDirectory.MARKER).toFile());
        List<String> recorded = new ArrayList<>();
        marker.get("files").forEach(f -> recorded.add(f.asText()));
        List<String> present;
        try (Stream<Path> s = Files.list(dir)) {
            present = s.map(p -> p.getFileName().toString() + (Files.isDirectory(p) ? "/" : ""))
                    .filter(n -> !n.equals(RunDirectory.MARKER) && !n.equals(RunDirectory.LOCK)).sorted().toList();
        }
        assertEquals(present, recorded.stream().sorted().toList(), "every file the run left is recorded, and only those");
    }

    @Test
    void aMarkerThatListsPathsOutsideTheRunIsRefusedAndNothingIsDeleted() throws Exception {
        Path dir = tmp.resolve("run");
        assertEquals(0, train(dir), console.err());
        Path user = Files.createDirectories(tmp.resolve("user"));
        Files.writeString(user.resolve("important.txt"), "the user's file");
        Files.createDirectories(user.resolve("step-00000001"));
        Files.writeString(user.resolve("step-00000001/weights.bin"), "the user's weights");
        for (String entry : List.of("../user/important.txt", "../user/", "checkpoints/../../user/", ".", "",
                user.resolve("important.txt").toString(), user + "/")) {
            ObjectNode marker = (ObjectNode) Json.compact().readTree(dir.resolve(RunDirectory.MARKER).toFile());
            ObjectNode forged = marker.deepCopy();
            forged.withArray("files").add(entry);
            Files.writeString(dir.resolve(RunDirectory.MARKER), Json.pretty().writeValueAsString(forged));
            var before = contents(tmp);
            for (String mode : List.of("--overwrite", "--resume")) {
                console.reset();
                assertEquals(ExitCodes.USAGE, train(dir, mode, "--steps", "16"), entry + " " + mode);
                assertTrue(console.err().contains("lists '" + entry + "'") && console.err().contains("not a marker "
                        + "gradguard wrote, so nothing is changed"), console.err());
                assertEquals(1, console.err().lines().count(), console.err());
                assertEquals(before, contents(tmp), entry + " " + mode);
            }
            Files.writeString(dir.resolve(RunDirectory.MARKER), Json.pretty().writeValueAsString(marker));
        }
    }

    @Test
    void nothingIsWrittenThroughALinkInPlaceOfTheRunsOwnFiles() throws Exception {
        Path user = Files.createDirectories(tmp.resolve("user"));
        Path mine = Files.writeString(user.resolve("important.txt"), "the user's file, ".repeat(1000));
        Files.createDirectories(user.resolve("step-00000012"));
        Files.writeString(user.resolve("step-00000012/model.pt"), "the user's model");
        for (String own : List.of("metrics.jsonl", "model.pt", "checkpoints", RunDirectory.LOCK)) {
            Path dir = tmp.resolve("run-" + own);
            assertEquals(0, train(dir), console.err());
            Path target = own.equals("checkpoints") ? user : mine;
            RunDirectory.deleteTree(dir.resolve(own));
            Files.createSymbolicLink(dir.resolve(own), target);
            var before = contents(tmp);
            for (String mode : List.of("--overwrite", "--resume")) {
                console.reset();
                assertEquals(ExitCodes.USAGE, train(dir, mode, "--steps", "16"), own + " " + mode + ": " + console.err());
                assertTrue(console.err().contains("is a symbolic link"), console.err());
                assertEquals(1, console.err().lines().count(), console.err());
                assertEquals(before, contents(tmp), own + " " + mode);
            }
        }
    }

    @Test
    void linksAtTheNamesOfTemporaryFilesAreNeverFollowed() throws Exception {
        Path mine = Files.writeString(tmp.resolve("important.txt"), "the user's file");
        Path dir = tmp.resolve("run");
        assertEquals(0, train(dir), console.err());
        for (String name : List.of("model.pt.tmp", "summary.json.tmp", "config.json.tmp", ".gradguard-run.tmp")) {
            Files.createSymbolicLink(dir.resolve(name), mine);
        }
        assertEquals(0, train(dir, "--overwrite", "--steps", "8"), console.err());
        assertEquals(0, train(dir, "--resume", "--steps", "16"), console.err());
        assertEquals("the user's file", Files.readString(mine));
        assertEquals(16, Json.compact().readTree(dir.resolve("summary.json").toFile()).get("steps").asInt());
    }

    @Test
    void aResumeRefusedForAShortEventFileLeavesMetricsAsTheyWere() throws Exception {
        Path dir = tmp.resolve("run");
        assertEquals(0, train(dir), console.err());
        RunDirectory.deleteTree(dir.resolve("checkpoints/step-00000012")); // resume from step 8: metrics get cut
        Path events;
        try (Stream<Path> s = Files.list(dir)) {
            events = s.filter(p -> p.getFileName().toString().startsWith(RunDirectory.EVENT_FILE_PREFIX)).findFirst()
                    .orElseThrow();
        }
        try (var channel = java.nio.channels.FileChannel.open(events, java.nio.file.StandardOpenOption.WRITE)) {
            channel.truncate(100);
        }
        var before = contents(dir);
        console.reset();
        assertEquals(ExitCodes.USAGE, train(dir, "--resume", "--steps", "16"));
        assertTrue(console.err().contains("cannot resume " + events + " at byte"), console.err());
        assertEquals(before, contents(dir), "metrics.jsonl is not cut back");
    }

    @Test
    void aCheckpointNamingAnEventFileOutsideTheTensorBoardDirectoryIsRefused() throws Exception {
        Path dir = tmp.resolve("run");
        assertEquals(0, train(dir), console.err());
        Path mine = Files.writeString(tmp.resolve("events.out.tfevents.mine"), "the user's events, ".repeat(1000));
        Path newest = dir.resolve("checkpoints/step-00000012");
        ObjectNode meta = (ObjectNode) Json.compact().readTree(newest.resolve("meta.json").toFile());
        ((ObjectNode) meta.get("metadata")).put("event_file", "../events.out.tfevents.mine");
        replaceVouchedFor(newest, "meta.json", Json.pretty().writeValueAsBytes(meta));
        var before = contents(tmp);

        console.reset();
        assertEquals(ExitCodes.CHECKPOINT, train(dir, "--resume", "--steps", "16"));
        assertTrue(console.err().contains("names its event file '../events.out.tfevents.mine'"), console.err());
        assertEquals(before, contents(tmp));
    }

    @Test
    void overwritingACopyOfARunLeavesTheOriginalsEventFilesElsewhere() throws Exception {
        Path tensorboard = tmp.resolve("tb");
        Path original = tmp.resolve("original");
        assertEquals(0, train(original, "--tensorboard", tensorboard.toString()), console.err());
        Path originalEvents;
        try (Stream<Path> s = Files.list(tensorboard)) {
            originalEvents = s.findFirst().orElseThrow();
        }
        Path copy = tmp.resolve("copy");
        try (Stream<Path> walk = Files.walk(original)) {
            for (Path p : walk.toList()) {
                Path target = copy.resolve(original.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        String recorded = Json.compact().readTree(copy.resolve(RunDirectory.MARKER).toFile()).get("files").toString();
        assertTrue(recorded.contains(originalEvents.toAbsolutePath().toString()), recorded);

        assertEquals(0, train(copy, "--overwrite", "--steps", "8", "--tensorboard", tensorboard.toString()), console.err());
        assertTrue(Files.exists(originalEvents), "the original run's event file stays");
        assertEquals(0, train(original, "--overwrite", "--steps", "8", "--tensorboard", tensorboard.toString()),
                console.err());
        assertFalse(Files.exists(originalEvents), "the run that wrote it removes it when it is overwritten");
    }
}
