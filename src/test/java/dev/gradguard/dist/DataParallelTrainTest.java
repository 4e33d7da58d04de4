package dev.gradguard.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.metrics.Json;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gradguard launch --nproc-per-node 2 -- train ...} on loopback: two replicas that stay identical. */
class DataParallelTrainTest {
    @TempDir
    Path tmp;

    @Test
    void twoWorkersTrainIdenticalReplicasAndRankZeroWritesTheRun() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path out = tmp.resolve("ddp");
        Path log = tmp.resolve("launch.log");
        List<String> command = List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), "dev.gradguard.cli.Main", "launch", "--nproc-per-node", "2",
                "--master-port", Integer.toString(port), "--", "train", "--task", "adding", "--length", "12",
                "--hidden", "16", "--batch-size", "32", "--steps", "40", "--eval-samples", "200", "--quiet",
                "--inject-nonfinite", "7", "--checkpoint-every", "20", "--out", out.toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), Files.readString(log));
        assertEquals(0, p.exitValue(), Files.readString(log));

        JsonNode s = Json.compact().readTree(out.resolve("summary.json").toFile());
        assertEquals(2, s.get("world_size").asInt());
        JsonNode sums = s.get("rank_param_checksums");
        assertEquals(2, sums.size());
        assertEquals(sums.get(0).asText(), sums.get(1).asText(), "identical parameters on every rank");
        assertEquals(s.get("param_checksum").asText(), sums.get(0).asText());
        assertEquals(1, s.get("skipped_steps").asInt(), "the injected step is skipped on every rank");
        assertEquals(40, Files.readAllLines(out.resolve("metrics.jsonl")).size(), "rank 0 alone writes the metrics");
        assertTrue(Files.isDirectory(out.resolve("checkpoints").resolve("step-00000040")));

        // the same run stopped at step 20 and resumed by both ranks ends with the same weights
        Path split = tmp.resolve("split");
        List<String> first = new java.util.ArrayList<>(command);
        first.set(first.indexOf(out.toString()), split.toString());
        first.set(first.indexOf("40"), "20");
        Path log2 = tmp.resolve("split.log");
        Process a = new ProcessBuilder(first).redirectErrorStream(true).redirectOutput(log2.toFile()).start();
        assertTrue(a.waitFor(180, TimeUnit.SECONDS), Files.readString(log2));
        assertEquals(0, a.exitValue(), Files.readString(log2));
        List<String> second = new java.util.ArrayList<>(command);
        second.set(second.indexOf(out.toString()), split.toString());
        second.add("--resume");
        Process b = new ProcessBuilder(second).redirectErrorStream(true)
                .redirectOutput(java.lang.ProcessBuilder.Redirect.appendTo(log2.toFile())).start();
        assertTrue(b.waitFor(180, TimeUnit.SECONDS), Files.readString(log2));
        assertEquals(0, b.exitValue(), Files.readString(log2));
        JsonNode resumed = Json.compact().readTree(split.resolve("summary.json").toFile());
        assertEquals(20, resumed.get("resumed_from_step").asInt());
        assertEquals(s.get("param_checksum").asText(), resumed.get("param_checksum").asText(), Files.readString(log2));
        assertEquals(40, Files.readAllLines(split.resolve("metrics.jsonl")).size());
    }
}
