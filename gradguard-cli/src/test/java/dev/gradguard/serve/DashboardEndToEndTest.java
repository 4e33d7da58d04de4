package dev.gradguard.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.io.File;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard as a person sees it: a real training run in a child JVM writes into a runs directory, the
 * server serves it, and headless Chromium (Debian's {@code chromium}) loads the pages, runs their script and
 * dumps the resulting DOM. Skipped when Chromium is not installed; CI installs it.
 */
class DashboardEndToEndTest {
    private static final Pattern STEP = Pattern.compile("id=\"step\"[^>]*>(\\d+)<");

    @TempDir
    Path tmp;
    private int profiles;

    @Test
    @Timeout(value = 100, unit = TimeUnit.SECONDS)
    void aLiveRunIsListedAndItsStepCounterAdvancesWhileItTrains() throws Exception {
        Optional<Path> chromium = findChromium();
        assumeTrue(chromium.isPresent(), "chromium is not installed (Debian: apt-get install chromium)");
        Path runs = Files.createDirectories(tmp.resolve("runs"));
        Path run = runs.resolve("live");
        Path log = tmp.resolve("train.log");
        Process train = new ProcessBuilder(javaExecutable(), "-cp", System.getProperty("java.class.path"),
                "dev.gradguard.cli.Main", "train", "--steps", "400", "--threads", "1", "--quiet", "--eval-samples", "500",
                "--out", run.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try (DashboardServer server = DashboardServer.start(runs, "127.0.0.1", 0)) {
            awaitSteps(run.resolve("metrics.jsonl"), 3, train, log);

            String index = dumpDom(chromium.get(), server.url());
            assertTrue(index.contains(">live</a>"), "the run is listed on /:\n" + index);

            String page = dumpDom(chromium.get(), server.runUrl("live"));
            int first = renderedStep(page);
            assertTrue(page.contains("id=\"total\"> of 400</span>"), "the steps to go, from the run's config:\n" + page);
            assertTrue(page.matches("(?s).*id=\"eta\">\\(about [0-9a-z ]+ left\\)<.*"), "an ETA:\n" + page);
            assertEquals(4, Pattern.compile("class=\"uplot[ \"]").matcher(page).results().count(),
                    "uPlot, served from the jar, drew the four charts:\n" + page);
            assertTrue(page.contains("Dashed line: the clip threshold 1 of norm:1.0."), "the norm chart says what it shows");
            dev.gradguard.report.SyntheticRun.write(runs.resolve("done"), 30, "norm:1.0");
            String finished = dumpDom(chromium.get(), server.runUrl("done"));
            assertTrue(finished.contains("to keep watching this directory, run: gradguard serve " + server.runsDir()),
                    "a finished run says how to keep watching:\n" + finished);
            Thread.sleep(2500);
            int second = renderedStep(dumpDom(chromium.get(), server.runUrl("live")));
            assertTrue(first >= 3 && second > first, "the step counter advances: " + first + " then " + second);

            Path shot = tmp.resolve("dashboard.png");
            run(chromium.get(), List.of("--screenshot=" + shot, "--window-size=1200,900"), server.runUrl("live"));
            BufferedImage image = ImageIO.read(shot.toFile());
            assertNotNull(image, "the screenshot decodes");
            assertEquals(1200, image.getWidth());
            assertEquals(900, image.getHeight());
        } finally {
            train.descendants().forEach(ProcessHandle::destroyForcibly);
            train.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static int renderedStep(String dom) {
        Matcher m = STEP.matcher(dom);
        if (!m.find()) {
            fail("no rendered step counter in the page:\n" + dom);
        }
        return Integer.parseInt(m.group(1));
    }

    /** Waits until the run has written {@code rows} metrics lines; fails when the run ends first or 60 s pass. */
    private static void awaitSteps(Path metrics, int rows, Process train, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (Files.exists(metrics)) {
                try (Stream<String> lines = Files.lines(metrics)) {
                    if (lines.count() >= rows) {
                        return;
                    }
                }
            }
            if (!train.isAlive()) {
                fail("the training run ended (exit " + train.exitValue() + ") before writing " + rows + " steps:\n"
                        + Files.readString(log));
            }
            Thread.sleep(200);
        }
        fail("the training run wrote fewer than " + rows + " steps in 60 s:\n" + Files.readString(log));
    }

    /** The DOM after the page's script ran (Chromium's virtual time runs its timers and waits for its fetches). */
    private String dumpDom(Path chromium, URI url) throws Exception {
        return run(chromium, List.of("--virtual-time-budget=3000", "--dump-dom"), url);
    }

    /** Runs headless Chromium on {@code url}; its standard output. */
    private String run(Path chromium, List<String> extra, URI url) throws Exception {
        Path profile = tmp.resolve("chromium-profile-" + profiles++);
        List<String> command = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile));
        command.addAll(extra);
        command.add(url.toString());
        Path out = tmp.resolve("chromium-" + profiles + ".out");
        Path err = tmp.resolve("chromium-" + profiles + ".err");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        boolean done = p.waitFor(30, TimeUnit.SECONDS);
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        if (!done || p.exitValue() != 0) {
            fail("chromium " + (done ? "exited with " + p.exitValue() : "did not finish in 30 s") + " on " + url + ":\n"
                    + Files.readString(err, StandardCharsets.UTF_8));
        }
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    /** Debian's {@code chromium} (or {@code chromium-browser}) on the PATH. */
    static Optional<Path> findChromium() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String name : List.of("chromium", "chromium-browser")) {
                Path candidate = Path.of(dir, name);
                if (Files.isExecutable(candidate)) {
                    return Optional.of(candidate);
                }
            }
        }
        return Optional.empty();
    }

    private static String javaExecutable() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}
