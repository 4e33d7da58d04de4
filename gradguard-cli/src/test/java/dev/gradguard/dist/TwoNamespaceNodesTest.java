package dev.gradguard.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.cli.ExitCodes;
import dev.gradguard.metrics.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes for real: {@code launch --nnodes 2}, each node in its own network namespace, the two joined by a
 * veth pair with 10.x addresses that exist only inside those namespaces. The namespaces are made and removed
 * here (uniquely named, always removed); where {@code ip netns} is not permitted the test is skipped.
 */
class TwoNamespaceNodesTest {
    @TempDir
    Path tmp;

    @Test
    void twoNodesTrainAlikeAndALinkThatGoesDownStopsTheOtherNodeWithinTheCollectiveTimeout() throws Exception {
        String id = Long.toString(ProcessHandle.current().pid());
        Assumptions.assumeTrue(ip("netns", "add", "gg-probe-" + id) == 0 && ip("netns", "del", "gg-probe-" + id) == 0,
                "'ip netns add' is not permitted here (it needs root, or CAP_NET_ADMIN, and iproute2): the two-node"
                        + " test over network namespaces is skipped");
        String nsA = "gg-" + id + "-a";
        String nsB = "gg-" + id + "-b";
        String vethA = "gga" + id;
        String vethB = "ggb" + id;
        String net = "10.211." + (ProcessHandle.current().pid() % 250) + ".";
        List<Process> launchers = new ArrayList<>();
        try {
            run("netns", "add", nsA);
            run("netns", "add", nsB);
            run("link", "add", vethA, "netns", nsA, "type", "veth", "peer", "name", vethB, "netns", nsB);
            run("-n", nsA, "addr", "add", net + "1/24", "dev", vethA);
            run("-n", nsB, "addr", "add", net + "2/24", "dev", vethB);
            for (String[] nsDev : new String[][] {{nsA, vethA}, {nsA, "lo"}, {nsB, vethB}, {nsB, "lo"}}) {
                run("-n", nsDev[0], "link", "set", nsDev[1], "up");
            }

            // a short run: both nodes train, rank 1 on node 1 reaching rank 0 over the veth pair only
            Path out = tmp.resolve("two-nodes");
            Path log0 = tmp.resolve("node0.log");
            Path log1 = tmp.resolve("node1.log");
            List<String> train = List.of("--task", "adding", "--length", "12", "--hidden", "16", "--batch-size", "32",
                    "--steps", "30", "--eval-samples", "200", "--quiet", "--out", out.toString());
            Process node0 = node(nsA, 0, net + "1", 29511, train, log0);
            launchers.add(node0);
            Process node1 = node(nsB, 1, net + "1", 29511, train, log1);
            launchers.add(node1);
            assertTrue(node0.waitFor(180, TimeUnit.SECONDS) && node1.waitFor(60, TimeUnit.SECONDS),
                    Files.readString(log0) + Files.readString(log1));
            assertEquals(0, node0.exitValue(), Files.readString(log0));
            assertEquals(0, node1.exitValue(), Files.readString(log1));
            JsonNode s = Json.compact().readTree(out.resolve("summary.json").toFile());
            assertEquals(2, s.get("world_size").asInt());
            assertEquals(s.get("rank_param_checksums").get(0).asText(), s.get("rank_param_checksums").get(1).asText());

            // a long run whose node 1 loses its link: node 0 stops after the 5 s collective timeout, naming rank 1
            Path longOut = tmp.resolve("link-down");
            List<String> endless = List.of("--task", "adding", "--length", "12", "--hidden", "16", "--batch-size", "32",
                    "--steps", "1000000", "--eval-samples", "200", "--quiet", "--out", longOut.toString());
            Path down0 = tmp.resolve("down0.log");
            node0 = node(nsA, 0, net + "1", 29512, endless, down0);
            launchers.add(node0);
            launchers.add(node(nsB, 1, net + "1", 29512, endless, tmp.resolve("down1.log")));
            Path metrics = longOut.resolve("metrics.jsonl");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!(Files.exists(metrics) && Files.readAllLines(metrics).size() >= 20)) {
                assertTrue(node0.isAlive() && System.nanoTime() < deadline, Files.readString(down0));
                Thread.sleep(50);
            }
            long t0 = System.nanoTime();
            run("-n", nsB, "link", "set", vethB, "down");
            assertTrue(node0.waitFor(60, TimeUnit.SECONDS), "node 0 still runs 60 s after the link went down\n"
                    + Files.readString(down0));
            double seconds = (System.nanoTime() - t0) / 1e9;
            String text = Files.readString(down0);
            assertEquals(ExitCodes.PEER, node0.exitValue(), text);
            assertTrue(seconds >= 4 && seconds < 30, "stopped after " + seconds + " s:\n" + text);
            assertTrue(text.lines().anyMatch(l -> l.startsWith("[rank 0] gradguard: error: rank 0: ")
                    && l.contains("rank 1 did not answer within the collective timeout of 5 s (--collective-timeout)")), text);
            assertTrue(text.lines().anyMatch(l -> l.startsWith("gradguard: error: rank 0 exited with code 6")), text);
            assertTrue(text.lines().noneMatch(l -> l.matches("\\[rank \\d\\]\\s+at .*") || l.contains("frame #")),
                    "no stack trace:\n" + text);
        } finally {
            for (Process p : launchers) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            // removing a namespace removes its end of the veth pair, and with it the other end
            ip("netns", "del", nsA);
            ip("netns", "del", nsB);
        }
    }

    /** {@code gradguard launch} for one node of two, started inside network namespace {@code ns}. */
    private static Process node(String ns, int nodeRank, String masterAddr, int port, List<String> train, Path log)
            throws Exception {
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", ns,
                ProcessHandle.current().info().command().orElse("java"), "-cp", System.getProperty("java.class.path"),
                "dev.gradguard.cli.Main", "launch", "--nproc-per-node", "1", "--nnodes", "2", "--node-rank",
                Integer.toString(nodeRank), "--master-addr", masterAddr, "--master-port", Integer.toString(port),
                "--collective-timeout", "5", "--timeout", "2", "--", "train"));
        command.addAll(train);
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static void run(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), String.join(" ", command));
        assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + output);
    }

    /** Runs {@code ip ARGS}, its output dropped; returns its exit code (-1 when ip cannot be run). */
    private static int ip(String... args) {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
        } catch (java.io.IOException | InterruptedException e) {
            return -1;
        }
    }
}
