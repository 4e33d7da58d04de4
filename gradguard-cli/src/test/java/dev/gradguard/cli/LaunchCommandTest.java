package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.testing.ConsoleCapture;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import picocli.CommandLine;

class LaunchCommandTest {
    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @Test
    void badLaunchFlagsExitWithUsageError() {
        assertEquals(2, Main.run("launch", "--nproc-per-node", "0", "--", "train"));
        assertEquals(2, Main.run("launch", "--nproc-per-node", "2", "--nnodes", "2", "--node-rank", "2", "--", "train"));
        assertEquals(2, Main.run("launch", "--nproc-per-node", "2"));
        assertEquals(2, Main.run("launch", "--nproc-per-node", "2", "--rdzv-timeout", "0", "--", "train"));
        assertEquals(2, Main.run("launch", "--standalone", "--nproc-per-node", "2", "--nnodes", "2", "--", "train"));
    }

    @Test
    void torchrunsSpellingsAreAccepted() {
        LaunchCommand c = new LaunchCommand();
        new CommandLine(c).parseArgs("--nproc_per_node=3", "--nnodes", "2", "--node_rank", "1", "--master_addr", "10.1.2.3",
                "--master_port", "29600", "--rdzv_timeout", "7", "--collective_timeout", "9", "--", "train", "--steps", "5");
        assertEquals(3, c.nprocPerNode);
        assertEquals(2, c.nnodes);
        assertEquals(1, c.nodeRank);
        assertEquals("10.1.2.3", c.masterAddr);
        assertEquals(29600, c.masterPort);
        assertEquals(7, c.rdzvTimeoutSeconds);
        assertEquals(9, c.collectiveTimeoutSeconds);
        assertEquals(List.of("train", "--steps", "5"), c.workerArgs);
        LaunchCommand standalone = new LaunchCommand();
        new CommandLine(standalone).parseArgs("--standalone", "--nproc-per-node", "2", "--", "train");
        assertTrue(standalone.standalone);
        assertEquals(60, standalone.rdzvTimeoutSeconds, "the default rendezvous timeout");
        assertEquals(300, standalone.collectiveTimeoutSeconds, "the default collective timeout");
    }

    @Test
    void aRankThatNeverJoinsIsReportedAfterTheRendezvousTimeoutInOneLine() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = free.getLocalPort();
        }
        console.reset();
        long t0 = System.nanoTime();
        // node 0 of 2 is started alone: its rank waits for node 1's, which never comes
        int code = assertTimeoutPreemptively(Duration.ofSeconds(120), () -> Main.run("launch", "--nproc-per-node", "1",
                "--nnodes", "2", "--node-rank", "0", "--master-port", Integer.toString(port), "--rdzv-timeout", "4",
                "--", "train", "--task", "adding", "--steps", "5", "--quiet", "--out", "unused-never-written"));
        double seconds = (System.nanoTime() - t0) / 1e9;
        String err = console.err();
        assertEquals(ExitCodes.PEER, code, err);
        assertTrue(seconds >= 4, "waited " + seconds + " s");
        assertTrue(err.lines().anyMatch(l -> l.startsWith("[rank 0] gradguard: error: rank 0 could not join the process group"
                + " of 2 at 127.0.0.1:" + port + " within the rendezvous timeout of 4 s (--rdzv-timeout)")), err);
        assertTrue(err.lines().noneMatch(l -> l.matches("\\[rank 0\\]\\s+at .*") || l.contains("frame #")), err);
        assertTrue(!java.nio.file.Files.exists(java.nio.file.Path.of("unused-never-written")), "no run directory");
    }

    /** Runs a launch that must fail at once, before any worker starts, with one line. */
    private String failsAtOnce(String... args) {
        console.reset();
        long t0 = System.nanoTime();
        int code = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> Main.run(args));
        double seconds = (System.nanoTime() - t0) / 1e9;
        String err = console.err();
        assertEquals(2, code, err);
        assertTrue(seconds < 10, "failed after " + seconds + " s");
        List<String> lines = err.lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), err);
        assertTrue(console.out().isBlank(), "no worker started: " + console.out());
        return lines.get(0);
    }

    @Test
    void moreWorkersThanTheMachineHoldsAreRefusedSayingWhy() {
        String line = failsAtOnce("launch", "--nproc-per-node", "1000000", "--", "train");
        assertTrue(line.startsWith("gradguard: error: --nproc-per-node 1000000 is more than this machine can hold: at most "),
                line);
        assertTrue(line.contains(Runtime.getRuntime().availableProcessors() + " cores") && line.contains("MB per worker JVM"),
                line);
    }

    @Test
    void anUnresolvableMasterAddressFailsAtOnce() {
        String line = failsAtOnce("launch", "--nproc-per-node", "1", "--master-addr", "no-such-host.invalid", "--", "train");
        assertTrue(line.contains("--master-addr no-such-host.invalid does not resolve to an address"), line);
    }

    @Test
    void aTakenMasterPortFailsAtOnceSayingSo() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            String line = failsAtOnce("launch", "--nproc-per-node", "2", "--master-port",
                    Integer.toString(taken.getLocalPort()), "--", "train");
            assertTrue(line.contains("--master-port " + taken.getLocalPort() + " is already in use on this machine"), line);
            assertTrue(!line.contains("within"), line);
        }
    }
}
