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

        List<String> resume = new java.util.ArrayList<>(command);
        resume.add("--resume");
        Path log2 = tmp.resolve("resume.log");
        Process r = new ProcessBuilder(resume).redirectErrorStream(true).redirectOutput(log2.toFile()).start();
        assertTrue(r.waitFor(120, TimeUnit.SECONDS), Files.readString(log2));
        assertEquals(2, r.exitValue(), Files.readString(log2));
        assertTrue(Files.readString(log2).contains("--resume is not supported in data-parallel runs yet"), Files.readString(log2));
    }
}
