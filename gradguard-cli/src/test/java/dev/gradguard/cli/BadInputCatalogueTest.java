package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.interop.SafeTensors;
import dev.gradguard.interop.SafeTensorsFile;
import dev.gradguard.model.Parameters;
import dev.gradguard.testing.ConsoleCapture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorIndex;
import org.bytedeco.pytorch.TensorIndexVector;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * What users get wrong, and what they see: for every case one line on standard error naming what is wrong
 * and what is allowed, a distinct exit code (2 usage and configuration, 3 data, 4 checkpoints), no stack
 * trace, and nothing overwritten.
 */
class BadInputCatalogueTest {
    @TempDir
    Path tmp;

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    /** Runs a short train command and checks the exit code, the one-line message and that nothing changed. */
    private void expect(int code, String fragment, String... args) throws IOException {
        List<String> all = new ArrayList<>(List.of("train", "--steps", "12", "--eval-samples", "100", "--threads", "1",
                "--quiet", "--length", "12"));
        all.addAll(List.of(args));
        expectCommand(code, fragment, all.toArray(new String[0]));
    }

    /** Runs a whole command line and checks the exit code, the one-line message and that nothing changed. */
    private void expectCommand(int code, String fragment, String... args) throws IOException {
        console.reset();
        String before = snapshot();
        int actual = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> Main.run(args),
                "answered within a minute: " + String.join(" ", args));
        String message = console.err();
        assertEquals(code, actual, message);
        List<String> lines = message.lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), "exactly one line:\n" + String.join("\n<NEXT LINE>", lines));
        assertTrue(lines.get(0).startsWith("gradguard: error: "), message);
        assertTrue(message.contains(fragment), "expected '" + fragment + "' in:\n" + message);
        assertEquals(before, snapshot(), "nothing in the temporary folder changed");
    }

    /**
     * Names, sizes and modification times of every file under the temporary folder, except run directories' lock
     * files, into which a run that takes the lock writes its pid before it looks at anything else.
     */
    private String snapshot() throws IOException {
        StringBuilder s = new StringBuilder();
        try (Stream<Path> walk = Files.walk(tmp)) {
            for (Path p : walk.sorted(Comparator.naturalOrder()).toList()) {
                if (p.getFileName().toString().equals(dev.gradguard.session.RunDirectory.LOCK)) {
                    continue;
                }
                s.append(tmp.relativize(p)).append(' ');
                if (Files.isRegularFile(p)) {
                    s.append(Files.size(p)).append(' ').append(Files.getLastModifiedTime(p).toMillis());
                }
                s.append('\n');
            }
        }
        return s.toString();
    }

    /** A short run that should succeed: its exit code. */
    private static int train(int steps, String... args) {
        List<String> all = new ArrayList<>(List.of("train", "--steps", Integer.toString(steps), "--eval-samples", "100",
                "--threads", "1", "--quiet", "--length", "12"));
        all.addAll(List.of(args));
        return Main.run(all.toArray(new String[0]));
    }

    private Path out(String name) {
        return tmp.resolve(name);
    }

    @Test
    void flagsAndValues() throws IOException {
        expect(2, "Unknown options: '--lrr', '0.1' (did you mean --lr?)", "--lrr", "0.1");
        expect(2, "(did you mean --batch-size?)", "--batchsize", "3");
        expect(2, "'clip' must be", "--clip", "", "--out", out("a").toString());
        expect(2, "clip policy 'norm:-1': MAX must be a number >= 0", "--clip", "norm:-1", "--out", out("a").toString());
        expect(2, "'batch-size' must be an integer in [1, 1000000], got '0'", "--batch-size", "0");
        expect(2, "'lr' must be a finite number > 0 and <= 3.4028234663852886E38 (the largest float32: parameters and updates"
                + " are float32), got 'NaN'", "--lr", "NaN");
        expect(2, "got '-1'", "--lr", "-1");
        expect(2, "'seed' must be an integer >= 0, got 'many'", "--seed", "many");
        expect(2, "'momentum' must be a number in [0.0, 1.0), got '1.5'", "--momentum", "1.5");
        expect(2, "'inject-nonfinite' must be a comma-separated list of step numbers >= 0", "--inject-nonfinite", "3,x");
        expect(2, "'grad-sync' must be one of flat, reducer, got 'ring'", "--grad-sync", "ring");
    }

    @Test
    void namesOfTasksModelsPoliciesAndOptimizers() throws IOException {
        expect(2, "sorting", "--task", "sorting", "--out", out("a").toString());
        expect(2, "task temporal-order has no model 'cnn' (allowed: gru, lstm, rnn, transformer, auto)", "--model", "cnn",
                "--out", out("b").toString());
        expect(2, "unknown clip policy 'zclp'", "--clip", "zclp", "--out", out("c").toString());
        expect(2, "'optimizer' must be one of sgd, adam, adamw, got 'adagrad'", "--optimizer", "adagrad");
        expect(2, "schedule", "--schedule", "exponential", "--out", out("d").toString());
        expect(2, "controller", "--controller", "manual", "--out", out("e").toString());
        expect(2, "device must be one of auto, cpu, cuda, cuda:N, got 'tpu'", "--device", "tpu", "--out", out("f").toString());
        expect(2, "'momentum' applies to --optimizer sgd only, not adam", "--optimizer", "adam", "--momentum", "0.5",
                "--out", out("g").toString());
        expect(2, "'layers' and 'heads' size model transformer only, not gru (task temporal-order)", "--layers", "2",
                "--out", out("h").toString());
        expect(2, "'layers' and 'heads' size model transformer only, not lstm (task adding)", "--task", "adding",
                "--model", "lstm", "--heads", "2", "--out", out("i").toString());
    }

    @Test
    void configFiles() throws IOException {
        Path yaml = tmp.resolve("bad.yaml");
        Files.writeString(yaml, "lr: [0.1\nsteps: 3\n");
        expect(2, "is not valid YAML at line", "--config", yaml.toString());
        Path json = tmp.resolve("bad.json");
        Files.writeString(json, "{\"lr\": 0.1,,}");
        expect(2, "is not valid JSON at line 1", "--config", json.toString());
        Path unknown = tmp.resolve("unknown.yaml");
        Files.writeString(unknown, "learning_rate: 0.1\n");
        expect(2, "unknown key 'learning_rate'", "--config", unknown.toString());
        Path badValue = tmp.resolve("value.yaml");
        Files.writeString(badValue, "batch_size: -4\n");
        expect(2, "'batch-size' must be an integer in [1, 1000000], got -4", "--config", badValue.toString());
        expect(2, "does not exist", "--config", tmp.resolve("missing.yaml").toString());
    }

    @Test
    void dataFiles() throws IOException {
        expect(3, "missing.txt", "--task", "charlm", "--data", tmp.resolve("missing.txt").toString(), "--out", out("a").toString());
        Path empty = Files.writeString(tmp.resolve("empty.txt"), "");
        expect(3, "empty", "--task", "charlm", "--data", empty.toString(), "--out", out("b").toString());
        Path binary = Files.write(tmp.resolve("model.bin"), new byte[] {0x50, 0x4b, 3, 4, (byte) 0xff, (byte) 0xfe, 0, 0, 1});
        expect(3, "model.bin", "--task", "charlm", "--data", binary.toString(), "--out", out("c").toString());
        expect(3, "directory", "--task", "charlm", "--data", tmp.toString(), "--out", out("d").toString());
        expect(2, "task charlm needs a UTF-8 text file: set dataPath (--data PATH)", "--task", "charlm", "--out", out("e").toString());
        expect(2, "task temporal-order generates its own data and reads no data file; --data /dev/zero is for task charlm",
                "--data", "/dev/zero", "--out", out("f").toString());
    }

    @Test
    void outputDirectories() throws IOException {
        Path taken = Files.createDirectories(tmp.resolve("taken"));
        Files.writeString(taken.resolve("summary.json"), "{\"precious\": true}");
        expect(2, "already holds files (summary.json); choose a new or empty directory", "--out", taken.toString());
        expect(2, "is not a gradguard run (no .gradguard-run marker)", "--out", taken.toString(), "--overwrite");
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        expect(2, "is a file, not a directory", "--out", file.toString());
        Path dangling = Files.createSymbolicLink(tmp.resolve("dangling"), tmp.resolve("gone"));
        expect(2, "dangling is a symbolic link to nothing, not a directory", "--out", dangling.toString());
        expect(2, "cannot be created", "--out", file.resolve("below").toString());
        expect(2, "--resume needs --out", "--resume");
        expect(2, "is not a gradguard run", "--resume", "--out", tmp.resolve("never").toString());
        expect(2, "is not a gradguard run (no .gradguard-run marker), so there is nothing to resume", "--resume",
                "--out", taken.toString());
    }

    @Test
    void checkpoints() throws IOException {
        Path run = tmp.resolve("run");
        assertEquals(0, train(12, "--checkpoint-every", "4", "--out", run.toString()));
        Path other = tmp.resolve("other");
        assertEquals(0, train(4, "--hidden", "8", "--out", other.toString()));

        expect(2, "cannot resume with lr=0.5: the run was trained with lr=1.75", "--resume", "--out", run.toString(), "--lr", "0.5");
        expect(2, "cannot resume with layers=2: the run was trained with layers unset", "--resume", "--out", run.toString(),
                "--layers", "2");

        Path checkpoints = run.resolve("checkpoints");
        List<Path> steps;
        try (Stream<Path> s = Files.list(checkpoints)) {
            steps = s.filter(p -> p.getFileName().toString().startsWith("step-")).sorted().toList();
        }
        assertEquals(3, steps.size(), "the last 3 of steps 4, 8, 12 are kept");
        for (Path step : steps) {
            Path model = step.resolve("model.pt");
            byte[] bytes = Files.readAllBytes(model);
            Files.write(model, java.util.Arrays.copyOf(bytes, bytes.length / 2)); // truncated
        }
        expect(4, "is valid (3 damaged, newest:", "--resume", "--out", run.toString());

        Path theirs;
        try (Stream<Path> s = Files.list(other.resolve("checkpoints"))) {
            theirs = s.filter(p -> p.getFileName().toString().startsWith("step-")).findFirst().orElseThrow();
        }
        deleteTree(checkpoints);
        copyTree(theirs, checkpoints.resolve(theirs.getFileName()));
        expect(4, "saved from a different model: parameter", "--resume", "--out", run.toString());
    }

    @Test
    void startingWeightsWithNaNOrAnInfinityAreRefused() throws IOException {
        Path run = tmp.resolve("run");
        assertEquals(0, train(2, "--out", run.toString()));
        assertEquals(0, Main.run("export", run.toString()));
        SafeTensorsFile exported = SafeTensors.read(run.resolve("model.safetensors"));
        List<Tensor> tensors = new ArrayList<>();
        for (String name : exported.names()) {
            tensors.add(exported.tensor(name).orElseThrow().clone());
        }
        tensors.get(1).view(-1).index_put_(new TensorIndexVector(new TensorIndex(0)), new Scalar(Double.NaN));
        Path poisoned = tmp.resolve("nan.safetensors");
        SafeTensors.write(poisoned, Parameters.of(exported.names(), tensors), Map.of());
        expect(2, "nan.safetensors: tensor '" + exported.names().get(1) + "' holds NaN or an infinity; refusing to load "
                + "non-finite weights", "--init-from", poisoned.toString(), "--out", out("fresh").toString());
    }

    @Test
    void valuesThatWereSilentlyAcceptedOrCrashed() throws IOException {
        expect(2, "clip policy ',' has an empty part (a stray comma?)", "--clip", ",", "--out", out("a").toString());
        expect(2, "clip policy 'norm:1.0,' has an empty part", "--clip", "norm:1.0,", "--out", out("a").toString());
        expect(2, "'lr' must be a finite number > 0 and <= 3.4028234663852886E38 (the largest float32", "--lr", "1e300");
        expect(2, "'weight-decay' must be a number >= 0 and <= 3.4028234663852886E38", "--weight-decay", "1e308");
        expect(2, "Invalid value for option '--out': an empty path", "--out", "");
        expect(2, "'data' must be given a value, got ''", "--task", "charlm", "--data", "", "--out", out("a").toString());
        expect(2, "'tensorboard' must be given a value, got ''", "--tensorboard", "", "--out", out("a").toString());
        Path file = Files.writeString(tmp.resolve("events-file"), "x");
        expect(2, "'tensorboard' must be a directory for TensorBoard event files, got '" + file + "' (it is a file)",
                "--tensorboard", file.toString(), "--out", out("tb").toString());
        expect(2, "cannot be created: " + file + " is a file", "--tensorboard", file.resolve("below").toString(),
                "--out", out("tb").toString());
    }

    @Test
    void sizesThatCannotBeAllocatedAreRefusedWithTheEstimate() throws IOException {
        expect(2, "this job needs about 36.1 TB of memory (3.00e+12 parameters x 4 bytes x 3 copies", "--hidden", "1000000",
                "--out", out("a").toString());
        expectCommand(2, "lower --hidden, --batch-size or --length", "train", "--quiet", "--batch-size", "1000000",
                "--length", "1000000", "--out", out("b").toString());
    }

    @Test
    void duplicateKeysInConfigFiles() throws IOException {
        Path yaml = Files.writeString(tmp.resolve("twice.yaml"), "lr: 0.1\nsteps: 3\nlr: 0.2\n");
        expect(2, "Duplicate field 'lr'", "--config", yaml.toString());
        Path json = Files.writeString(tmp.resolve("twice.json"), "{\"steps\": 3, \"steps\": 4}");
        expect(2, "Duplicate field 'steps'", "--config", json.toString());
    }

    @Test
    void namedPipesDevicesAndDirectoriesAreRefusedBeforeTheyAreOpened() throws Exception {
        Path fifo = fifo(tmp.resolve("pipe.yaml"));
        expect(2, "config file " + fifo + " is a named pipe (FIFO), not a regular file", "--config", fifo.toString());
        Path zeroConfig = Files.createSymbolicLink(tmp.resolve("zero.yaml"), Path.of("/dev/zero"));
        expect(2, "is a character device, not a regular file", "--config", zeroConfig.toString());
        Path dirConfig = Files.createDirectories(tmp.resolve("conf.json"));
        expect(2, "is a directory, not a regular file", "--config", dirConfig.toString());

        expect(3, fifo + ": is a named pipe (FIFO), not a regular file", "--task", "charlm", "--data", fifo.toString(),
                "--out", out("a").toString());
        expect(3, "/dev/zero: is a character device, not a regular file", "--task", "charlm", "--data", "/dev/zero",
                "--out", out("a").toString());
    }

    @Test
    void reportOnDamagedOrOddRunFiles() throws Exception {
        Path binary = Files.createDirectories(tmp.resolve("binary"));
        Files.write(binary.resolve("metrics.jsonl"), new byte[] {'{', (byte) 0xff, (byte) 0xfe, 0, 1, '\n'});
        expectCommand(2, "metrics.jsonl is not UTF-8 text", "report", binary.toString());

        Path flipped = dev.gradguard.report.SyntheticRun.write(tmp.resolve("flipped"), 30, "norm:1.0");
        Path events;
        try (Stream<Path> s = Files.list(flipped)) {
            events = s.filter(p -> p.getFileName().toString().contains("tfevents")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(events);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(events, bytes);
        expectCommand(2, "corrupt event file " + events, "report", flipped.toString());

        Path huge = Files.createDirectories(tmp.resolve("huge"));
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(huge.resolve("metrics.jsonl").toFile(), "rw")) {
            f.setLength(3L << 30); // sparse: no disk used
        }
        expectCommand(2, "metrics.jsonl is too large: 3221225472 bytes, at most 268435456", "report", huge.toString());

        Path piped = Files.createDirectories(tmp.resolve("piped"));
        fifo(piped.resolve("metrics.jsonl"));
        expectCommand(2, "metrics.jsonl is a named pipe (FIFO), not a regular file", "report", piped.toString());
        expectCommand(2, "Invalid value for option '--out': an empty path", "report", binary.toString(), "--out", "");
    }

    @Test
    void benchmarkOutputsAreCheckedBeforeTheBenchmarkRuns() throws IOException {
        expectCommand(2, "--json " + tmp + " is a directory; name a file to write", "bench", "clip", "--json", tmp.toString());
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        expectCommand(2, "cannot be created: " + file + " is a file", "bench", "step", "--json", file.resolve("x.json").toString());
        Path results = Files.writeString(tmp.resolve("results.json"), "{\"mine\": [1, 2, 3]}");
        expectCommand(2, "--json " + results + " already exists and is not a gradguard benchmark's numbers", "bench", "clip",
                "--json", results.toString());
    }

    @Test
    void resumingIntoAnImmutableMetricsFile() throws Exception {
        Path run = tmp.resolve("run");
        assertEquals(0, train(8, "--checkpoint-every", "4", "--out", run.toString()));
        Path metrics = run.resolve("metrics.jsonl");
        boolean immutable = new ProcessBuilder("chattr", "+i", metrics.toString()).redirectErrorStream(true).start().waitFor() == 0;
        if (!immutable) {
            // without CAP_LINUX_IMMUTABLE, a file the process may not write fails the same way
            Files.setPosixFilePermissions(metrics, java.nio.file.attribute.PosixFilePermissions.fromString("r--r--r--"));
            Assumptions.assumeFalse(Files.isWritable(metrics), "chattr +i is not permitted here and the user may write a "
                    + "read-only file (root): cannot make metrics.jsonl unwritable");
        }
        try {
            expectCommand(2, "cannot use " + metrics + ": " + (immutable ? "Operation not permitted" : "permission denied"),
                    "train", "--resume", "--steps", "12", "--quiet", "--out", run.toString());
        } finally {
            if (immutable) {
                new ProcessBuilder("chattr", "-i", metrics.toString()).start().waitFor();
            }
        }
    }

    @Test
    void outputDirectoryThatIsANamedPipe() throws Exception {
        Path pipe = fifo(tmp.resolve("a-pipe"));
        expect(2, "a-pipe is a named pipe (FIFO), not a directory", "--out", pipe.toString());
        expect(2, "a-pipe: is a named pipe (FIFO), not a regular file", "--init-from", pipe.toString(),
                "--out", tmp.resolve("from-pipe").toString());
        expect(2, "model file " + pipe + " is a named pipe (FIFO), not a regular file", "--model-file", pipe.toString(), "--out",
                tmp.resolve("script-pipe").toString());
    }

    @Test
    void namedPipesInARunDirectoryAreRefusedNotReadForever() throws Exception {
        Path run = tmp.resolve("run");
        assertEquals(0, train(8, "--checkpoint-every", "4", "--out", run.toString()));
        Path meta = run.resolve("checkpoints/step-00000008/meta.json");
        Files.delete(meta);
        fifo(meta);
        expectCommand(4, "meta.json is a named pipe (FIFO), not a regular file", "export", run.toString(), "--step", "8");
        Path marker = run.resolve(dev.gradguard.session.RunDirectory.MARKER);
        Files.delete(marker);
        fifo(marker);
        expect(2, marker + " is a named pipe (FIFO), not a regular file; it is not a run marker gradguard wrote",
                "--overwrite", "--out", run.toString());
    }

    /** A named pipe at {@code path}; the test is skipped where mkfifo is missing. */
    private static Path fifo(Path path) throws Exception {
        Process p = new ProcessBuilder("mkfifo", path.toString()).redirectErrorStream(true).start();
        Assumptions.assumeTrue(p.waitFor() == 0, "mkfifo is not available: cannot make a named pipe");
        return path;
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.sorted().toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
