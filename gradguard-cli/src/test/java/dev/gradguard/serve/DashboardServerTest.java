package dev.gradguard.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.cli.ExitCodes;
import dev.gradguard.cli.Main;
import dev.gradguard.metrics.Json;
import dev.gradguard.report.MetricsRow;
import dev.gradguard.report.SyntheticRun;
import dev.gradguard.testing.ConsoleCapture;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class DashboardServerTest {
    private static final String SECRET = "TOP-SECRET-4711";

    @RegisterExtension
    final ConsoleCapture console = new ConsoleCapture();

    @TempDir
    Path tmp;
    Path runs;
    DashboardServer server;
    int port;

    /**
     * runs/a: a finished run; runs/b: a run in progress; runs/escape: a symbolic link to a run outside;
     * runs/sneaky: a directory whose metrics.jsonl links to a file outside; runs/notarun: no metrics;
     * runs/cmp: a comparison with one run and one link to a run outside; runs/linked/runs: a comparison's
     * runs directory that links outside.
     */
    @BeforeEach
    void start() throws IOException {
        runs = Files.createDirectories(tmp.resolve("runs"));
        SyntheticRun.write(runs.resolve("a"), 30, "norm:1.0");
        Path b = Files.createDirectories(runs.resolve("b"));
        SyntheticRun.appendSteps(b, 0, 10);
        Files.setLastModifiedTime(runs.resolve("a/metrics.jsonl"), FileTime.fromMillis(System.currentTimeMillis() - 3_600_000));

        Path outside = Files.createDirectories(tmp.resolve("outside/secret"));
        SyntheticRun.appendSteps(outside, 0, 5);
        Files.writeString(outside.resolve("summary.json"), "{\"task\": \"" + SECRET + "\", \"learned\": true}");
        Files.writeString(tmp.resolve("outside/secret.txt"), SECRET + "\n");
        Files.createSymbolicLink(runs.resolve("escape"), outside);
        Path sneaky = Files.createDirectories(runs.resolve("sneaky"));
        Files.createSymbolicLink(sneaky.resolve("metrics.jsonl"), outside.resolve("metrics.jsonl"));
        Files.createSymbolicLink(runs.resolve("b/summary.json"), outside.resolve("summary.json"));
        Files.createDirectories(runs.resolve("notarun"));
        SyntheticRun.write(runs.resolve("cmp/runs/none-seed0"), 12, "none");
        Files.setLastModifiedTime(runs.resolve("cmp/runs/none-seed0/metrics.jsonl"),
                FileTime.fromMillis(System.currentTimeMillis() - 7_200_000));
        Files.createSymbolicLink(runs.resolve("cmp/runs/escape"), outside);
        Files.createDirectories(runs.resolve("linked"));
        Files.createSymbolicLink(runs.resolve("linked/runs"), outside.getParent());

        server = DashboardServer.start(runs, "127.0.0.1", 0);
        port = server.port();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void pathTraversalAttemptsGet400Or404AndNeverAFile() throws IOException {
        String outsideAbsolute = tmp.resolve("outside").toAbsolutePath().toString();
        List<String> attempts = List.of(
                "/../outside/secret.txt",
                "/run/../../outside/secret.txt",
                "/run/..%2f..%2foutside%2fsecret.txt",
                "/run/%2e%2e/%2e%2e/outside/secret.txt",
                "/run/%2E%2E",
                "/api/run/%2e%2e/metrics",
                "/api/run/..%2Foutside%2Fsecret/metrics",
                "/run/..%5c..%5coutside",
                "/run/..\\..\\outside",
                "/api/run/escape/metrics",
                "/api/run/sneaky/metrics",
                "/run/escape",
                "/run/sneaky",
                "/run/notarun",
                "//outside/secret.txt",
                "/run/" + outsideAbsolute,
                "/api/run/" + outsideAbsolute.replace("/", "%2F") + "/metrics",
                "/api/run/a%00/metrics",
                "/outside/secret.txt",
                "/run/a/../../../outside/secret.txt",
                "/a/metrics.jsonl",
                "/run/a/metrics.jsonl",
                "/run/a/summary.json",
                "/run/cmp/runs/escape",
                "/api/run/cmp/runs/escape/metrics",
                "/run/linked/runs/secret",
                "/api/run/linked/runs/secret/metrics",
                "/api/run/cmp/runs/none-seed0/x/metrics",
                "/api/run/cmp/other/none-seed0/metrics",
                "/run/cmp/runs/none-seed0/metrics.jsonl");
        for (String target : attempts) {
            RawHttp.Response r = RawHttp.get(port, target);
            assertTrue(r.status() == 400 || r.status() == 404, target + " -> " + r.status());
            assertFalse(r.body().contains(SECRET), target + " leaked");
            assertFalse(r.body().contains("\"step\":[0"), target + " served metrics");
        }
        String list = RawHttp.get(port, "/api/runs").body();
        assertFalse(list.contains("escape") || list.contains("sneaky") || list.contains("notarun") || list.contains("secret"),
                list);
        assertFalse(RawHttp.get(port, "/api/run/b/metrics").body().contains(SECRET),
                "a summary.json linking outside the run is not read");
    }

    @Test
    void onlyGetAndHeadAreAnswered() throws IOException {
        for (String method : List.of("POST", "PUT", "DELETE", "PATCH", "OPTIONS")) {
            RawHttp.Response r = RawHttp.send(port, method, "/api/runs", "127.0.0.1:" + port);
            assertEquals(405, r.status(), method);
            assertEquals("GET, HEAD", r.headers().get("allow"), method);
        }
        RawHttp.Response head = RawHttp.send(port, "HEAD", "/", "127.0.0.1:" + port);
        assertEquals(200, head.status());
        assertEquals("", head.body());
        assertEquals(200, RawHttp.send(port, "GET", "/", null).status(), "an HTTP/1.0-style request without Host");
    }

    @Test
    void requestsForAnotherHostAreRefusedOnALoopbackServer() throws IOException {
        assertEquals(403, RawHttp.send(port, "GET", "/api/runs", "attacker.example:" + port).status());
        assertEquals(200, RawHttp.send(port, "GET", "/api/runs", "localhost:" + port).status());
        assertTrue(DashboardServer.loopbackHost("[::1]:80"));
        assertFalse(DashboardServer.loopbackHost("127.0.0.1.attacker.example"));
    }

    @Test
    void theRunListIsNewestFirstWithStepsLastLossAndStatus() throws IOException {
        JsonNode list = Json.compact().readTree(RawHttp.get(port, "/api/runs").body());
        assertEquals(3, list.size());
        assertEquals("b", list.get(0).get("name").asText(), "most recently written first");
        assertEquals("cmp/runs/none-seed0", list.get(2).get("name").asText());
        assertEquals(10, list.get(0).get("steps").asInt());
        assertEquals("running", list.get(0).get("status").asText());
        assertEquals("a", list.get(1).get("name").asText());
        assertEquals(30, list.get(1).get("steps").asInt());
        assertEquals(SyntheticRun.loss(29), list.get(1).get("last_loss").asDouble(), 1e-12);
        assertEquals("learned", list.get(1).get("status").asText());
        assertEquals("/run/a", list.get(1).get("url").asText());

        String index = RawHttp.get(port, "/").body();
        assertTrue(index.indexOf(">b</a>") < index.indexOf(">a</a>") && index.indexOf(">b</a>") > 0, index);
        assertSelfContainedPage(RawHttp.get(port, "/"));
    }

    @Test
    void metricsComeFromAStepOnWithTheThresholdAndSummaryOnceFinished() throws IOException {
        JsonNode m = Json.compact().readTree(RawHttp.get(port, "/api/run/a/metrics?from=25").body());
        assertEquals(List.of(25, 26, 27, 28, 29), ints(m.get("step")));
        assertEquals(30, m.get("next").asInt());
        assertFalse(m.get("more").asBoolean());
        assertEquals(1.0, m.get("threshold").asDouble());
        assertEquals("learned", m.get("status").asText());
        assertEquals(SyntheticRun.CHECKSUM, m.get("summary").get("param_checksum").asText());

        JsonNode early = Json.compact().readTree(RawHttp.get(port, "/api/run/a/metrics?from=19").body());
        assertEquals("NaN", early.get("loss").get(1).asText(), "non-finite values as strings, as in metrics.jsonl");
        assertTrue(early.get("nonfinite").get(1).asBoolean());

        assertEquals(400, RawHttp.get(port, "/api/run/a/metrics?from=abc").status());
        assertEquals(400, RawHttp.get(port, "/api/run/a/metrics?from=-3").status());
        assertEquals(404, RawHttp.get(port, "/api/run/nope/metrics").status());
    }

    @Test
    void theRunsOfAComparisonAreListedAndServedWithTheirClipPolicyAndTotalSteps() throws IOException {
        JsonNode list = Json.compact().readTree(RawHttp.get(port, "/api/runs").body());
        List<String> names = new ArrayList<>();
        list.forEach(r -> names.add(r.get("name").asText()));
        assertTrue(names.contains("cmp/runs/none-seed0"), names.toString());
        assertEquals(List.of("a", "b", "cmp/runs/none-seed0"), names.stream().sorted().toList(), "nothing else");
        assertTrue(RawHttp.get(port, "/").body().contains("href=\"/run/cmp/runs/none-seed0\""));

        RawHttp.Response page = RawHttp.get(port, "/run/cmp/runs/none-seed0");
        assertEquals(200, page.status());
        assertTrue(page.body().contains("data-run=\"cmp/runs/none-seed0\""));
        JsonNode m = Json.compact().readTree(RawHttp.get(port, "/api/run/cmp/runs/none-seed0/metrics").body());
        assertEquals(12, m.get("step").size());
        assertEquals("none", m.get("clip").asText());
        assertTrue(m.get("threshold").isNull(), "'none' has no threshold");
        assertEquals(12, m.get("total_steps").asInt(), "the steps the run is to train, from its config");
        assertEquals(12, m.get("time_ms").size());

        // a comparison directory served on its own lists its runs as runs/<name>
        try (DashboardServer alone = DashboardServer.start(runs.resolve("cmp"), "127.0.0.1", 0)) {
            JsonNode own = Json.compact().readTree(RawHttp.get(alone.port(), "/api/runs").body());
            assertEquals(1, own.size());
            assertEquals("runs/none-seed0", own.get(0).get("name").asText());
            assertEquals(200, RawHttp.get(alone.port(), "/api/run/runs/none-seed0/metrics").status());
            assertEquals(404, RawHttp.get(alone.port(), "/api/run/runs/escape/metrics").status());
        }
    }

    @Test
    void aRunInProgressIsFollowedLineByLine() throws IOException {
        Path metrics = runs.resolve("b/metrics.jsonl");
        JsonNode first = Json.compact().readTree(RawHttp.get(port, "/api/run/b/metrics").body());
        assertEquals(10, first.get("step").size());
        assertTrue(first.get("summary").isNull());
        assertTrue(first.get("threshold").isNull(), "no config.json, no summary: no threshold yet");
        Files.writeString(runs.resolve("b/config.json"), "{\"clip\": \"spike:6,norm:0.25\"}");
        JsonNode configured = Json.compact().readTree(RawHttp.get(port, "/api/run/b/metrics").body());
        assertEquals(0.25, configured.get("threshold").asDouble(), "a run writes config.json when it starts");

        SyntheticRun.appendSteps(runs.resolve("b"), 10, 13);
        String partial = "{\"step\":13,\"loss\":0.5,";
        Files.writeString(metrics, partial, StandardOpenOption.APPEND);
        JsonNode next = Json.compact().readTree(RawHttp.get(port, "/api/run/b/metrics?from=10").body());
        assertEquals(List.of(10, 11, 12), ints(next.get("step")), "a line still being written waits for its newline");
        assertEquals(13, next.get("next").asInt());

        Files.writeString(metrics, "\"grad_norm\":0.25,\"skipped\":false}\n", StandardOpenOption.APPEND);
        JsonNode last = Json.compact().readTree(RawHttp.get(port, "/api/run/b/metrics?from=13").body());
        assertEquals(List.of(13), ints(last.get("step")));
        assertEquals(0.25, last.get("grad_norm").get(0).asDouble());
    }

    @Test
    void theRunPageHasALiveStepCounterAndRunsOnlyItsOwnScript() throws IOException {
        RawHttp.Response page = RawHttp.get(port, "/run/a");
        assertEquals(200, page.status());
        assertTrue(page.body().contains("id=\"step\""));
        assertTrue(page.body().contains("data-run=\"a\""));
        assertTrue(page.body().contains("'/api/run/' + run.split('/').map(encodeURIComponent).join('/') + '/metrics?from="));
        assertTrue(page.body().contains("Clip rate over the last 50 steps"), "the clip-rate window is named");
        assertSelfContainedPage(page);

        RawHttp.Response library = RawHttp.get(port, "/static/uPlot.iife.min.js");
        assertEquals(200, library.status());
        assertTrue(library.headers().get("content-type").startsWith("text/javascript"));
        assertTrue(library.body().contains("uPlot") && library.body().length() > 20_000, "the chart library, from the jar");
        assertEquals(404, RawHttp.get(port, "/run/nope").status());
        assertEquals(404, RawHttp.get(port, "/favicon.ico").status());
    }

    @Test
    void aTakenPortIsAOneLineErrorAndExitCode2() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DashboardServer.start(runs, "127.0.0.1", taken.getLocalPort()));
            assertTrue(e.getMessage().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort())
                    && e.getMessage().contains("choose another --port"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));

            assertEquals(ExitCodes.USAGE, Main.run("serve", runs.toString(), "--port", Integer.toString(taken.getLocalPort())));
            assertEquals(ExitCodes.USAGE, Main.run("serve", tmp.resolve("missing").toString(), "--port", "0"));
            String[] lines = console.err().split("\n");
            assertEquals(2, lines.length, console.err());
            assertTrue(lines[0].contains("choose another --port"), lines[0]);
            assertTrue(lines[1].contains("does not exist"), lines[1]);
        }
    }

    @Test
    void clientsThatSendHalfARequestAreCutOffAndOthersAreStillServed() throws Exception {
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) { // twice the server's threads
                Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
                s.getOutputStream().write("GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n".getBytes(StandardCharsets.US_ASCII));
                stalled.add(s);
            }
            long start = System.nanoTime();
            long deadline = start + (DashboardServer.REQUEST_SECONDS + 10) * 1_000_000_000L;
            int status = -1;
            while (status != 200 && System.nanoTime() < deadline) {
                try {
                    status = RawHttp.get(port, "/api/runs").status();
                } catch (IOException cutOffWhileQueued) {
                    // queued behind the stalled ones when the server dropped them: a browser's next poll gets through
                }
            }
            assertEquals(200, status, "the dashboard answers again once the stalled clients are cut off");
            for (Socket s : stalled) {
                s.setSoTimeout(5_000);
                try {
                    assertEquals(-1, s.getInputStream().read(), "a stalled client gets no answer, only a closed connection");
                } catch (SocketException reset) {
                    // closed by the server: also fine
                }
            }
        } finally {
            for (Socket s : stalled) {
                s.close();
            }
        }
    }

    @Test
    void anOversizedRequestIsRefusedWithoutExhaustingTheServer() throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write("GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Junk: ".getBytes(StandardCharsets.US_ASCII));
            byte[] junk = new byte[1 << 16];
            Arrays.fill(junk, (byte) 'a');
            long sent = 0;
            try {
                while (sent < (64L << 20)) {
                    out.write(junk);
                    sent += junk.length;
                }
            } catch (SocketException refused) {
                // the server closed the connection once the request passed its size bound
            }
            assertTrue(sent < (64L << 20), "the server stopped reading long before 64 MiB of headers; it read " + sent);
        }
        assertEquals(200, RawHttp.get(port, "/api/runs").status());
    }

    @Test
    void aHugeMetricsFileIsTailedInBoundedMemory() throws IOException {
        Path huge = Files.createDirectories(runs.resolve("huge"));
        Path metrics = huge.resolve("metrics.jsonl");
        try (RandomAccessFile file = new RandomAccessFile(metrics.toFile(), "rw")) {
            file.setLength(3L << 30); // 3 GiB of zeros, sparse: no disk used; one newline at its end
            file.seek(file.length() - 1);
            file.write('\n');
        }
        SyntheticRun.appendSteps(huge, 1000, 1010); // a run's last lines after the junk
        Runtime rt = Runtime.getRuntime();
        long usedBefore = rt.totalMemory() - rt.freeMemory();

        JsonNode list = Json.compact().readTree(RawHttp.get(port, "/api/runs").body());
        JsonNode entry = null;
        for (JsonNode r : list) {
            entry = r.get("name").asText().equals("huge") ? r : entry;
        }
        assertTrue(entry != null, list.toString());
        assertEquals(10, entry.get("steps").asInt(), "the complete lines at the end, the junk before them skipped");
        assertEquals(1009, entry.get("last_step").asInt());
        JsonNode rows = Json.compact().readTree(RawHttp.get(port, "/api/run/huge/metrics").body());
        assertEquals(List.of(1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009), ints(rows.get("step")));
        long grew = rt.totalMemory() - rt.freeMemory() - usedBefore;
        assertTrue(grew < (512L << 20), "the heap grew by " + grew + " bytes");

        SyntheticRun.appendSteps(huge, 1010, 1012);
        JsonNode next = Json.compact().readTree(RawHttp.get(port, "/api/run/huge/metrics?from=1010").body());
        assertEquals(List.of(1010, 1011), ints(next.get("step")), "followed on from where it was");
    }

    @Test
    void onlyTheLatestRowsOfAVeryLongRunAreKept() throws IOException {
        Path longRun = Files.createDirectories(runs.resolve("long"));
        SyntheticRun.appendSteps(longRun, 0, MetricsTail.MAX_ROWS + 7);
        MetricsTail tail = new MetricsTail(longRun.resolve("metrics.jsonl"));
        List<MetricsRow> kept = tail.rows();
        assertEquals(MetricsTail.MAX_ROWS, kept.size());
        assertEquals(7, kept.get(0).step());
        assertEquals(MetricsTail.MAX_ROWS + 6, kept.get(kept.size() - 1).step());
    }

    @Test
    void theHandleTellsItsAddresses() {
        assertEquals("http://127.0.0.1:" + port + "/", server.url().toString());
        assertEquals("http://127.0.0.1:" + port + "/run/my%20run", server.runUrl("my run").toString());
        assertEquals(runs.toAbsolutePath().normalize(), server.runsDir());
    }

    /**
     * The page's own script is inline and carries the nonce of the response's content security policy; the
     * only other script is the chart library from this server; nothing names another site.
     */
    private static void assertSelfContainedPage(RawHttp.Response page) {
        String csp = page.headers().get("content-security-policy");
        assertTrue(csp.startsWith("default-src 'none'; script-src 'nonce-"), csp);
        Matcher nonce = Pattern.compile("'nonce-([^']+)' 'self';").matcher(csp);
        assertTrue(nonce.find(), csp);
        assertTrue(page.body().contains("<script nonce=\"" + nonce.group(1) + "\">"));
        List<String> sources = Pattern.compile("<script src=\"([^\"]*)\"").matcher(page.body()).results()
                .map(m -> m.group(1)).toList();
        assertTrue(sources.isEmpty() || sources.equals(List.of("/static/uPlot.iife.min.js")), sources.toString());
        assertFalse(page.body().contains("http://") || page.body().contains("https://"));
        assertEquals("nosniff", page.headers().get("x-content-type-options"));
    }

    private static List<Integer> ints(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asInt()));
        return out;
    }
}
