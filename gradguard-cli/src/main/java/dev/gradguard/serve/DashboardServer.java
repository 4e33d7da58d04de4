package dev.gradguard.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.gradguard.metrics.Json;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A read-only web dashboard of the runs in a directory (the JDK's {@code com.sun.net.httpserver}):
 * <ul>
 *   <li>{@code /}: the runs (each direct subdirectory with a {@code metrics.jsonl}), most recently written first;</li>
 *   <li>{@code /run/<name>}: a run's loss, gradient norms, clip rate and learning rate, drawn in the browser
 *       and updated every 1.5 s while the run trains; the steps done are in the element {@code id="step"};</li>
 *   <li>{@code /api/runs} and {@code /api/run/<name>/metrics?from=<step>}: the same as JSON;</li>
 *   <li>{@code /static/uPlot.iife.min.js}: the chart library (uPlot), from the jar.</li>
 * </ul>
 * A run's name is its directory's path in the runs directory: {@code live}, or {@code cmp/runs/none-seed0}
 * for a run of a comparison ({@link RunCatalog}).
 * Only GET and HEAD are answered (other methods get 405). Nothing outside the runs directory can be
 * reached: paths are checked before routing ({@link RequestPath}: no {@code ..}, encoded dots or slashes),
 * no path names a file directly, and a run name is followed to a file only when its real path, symbolic
 * links resolved, lies inside the runs directory ({@link RunCatalog}). Bound to a loopback address, the
 * server also refuses requests whose {@code Host} is not a loopback name (DNS rebinding). Pages carry a
 * content security policy that lets only their own inline script and this server's chart library run,
 * and only this server be fetched.
 *
 * <p>A client that does not send its whole request within {@link #REQUEST_SECONDS} seconds of connecting is
 * disconnected, and a request whose headers exceed {@link #MAX_HEADER_BYTES} is refused, so that a few stalled
 * or hostile connections cannot hold the server's threads. (The JDK's server takes both limits from system
 * properties read when its first server starts: {@code sun.net.httpserver.maxReqTime} and
 * {@code jdk.http.maxHeaderSize}; they are set here unless the JVM was started with them.)
 *
 * <p>Use: {@code try (DashboardServer s = DashboardServer.start(runs, "127.0.0.1", 0)) { ... s.url() ... }}.
 * Thread-safe; requests are served on a few daemon threads until {@link #close()}.
 */
public final class DashboardServer implements Closeable {
    /** The default address: this machine only. */
    public static final String DEFAULT_HOST = "127.0.0.1";
    /** The default port. */
    public static final int DEFAULT_PORT = 6007;
    /** Seconds a client has to send its request, counted from its connection. */
    public static final int REQUEST_SECONDS = 5;
    /** The most bytes of request headers read. */
    public static final int MAX_HEADER_BYTES = 64 << 10;
    private static final int THREADS = 4;

    static {
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime", Integer.toString(REQUEST_SECONDS));
        }
        if (System.getProperty("jdk.http.maxHeaderSize") == null) {
            System.setProperty("jdk.http.maxHeaderSize", Integer.toString(MAX_HEADER_BYTES));
        }
    }
    private static final SecureRandom NONCES = new SecureRandom();

    private final HttpServer server;
    private final ExecutorService executor;
    private final RunCatalog catalog;
    private final boolean loopback;
    private final URI url;

    private DashboardServer(HttpServer server, ExecutorService executor, RunCatalog catalog, boolean loopback, URI url) {
        this.server = server;
        this.executor = executor;
        this.catalog = catalog;
        this.loopback = loopback;
        this.url = url;
    }

    /**
     * Starts serving {@code runsDir} on {@code host:port}.
     *
     * @param runsDir the directory whose subdirectories are runs; it must exist (it may be empty)
     * @param host the address to bind, e.g. {@value #DEFAULT_HOST}
     * @param port the port, or 0 for any free one ({@link #port()} tells which)
     * @return the running server; close it to stop
     * @throws IllegalArgumentException when {@code runsDir} is not a directory, the host is unknown, the port
     *     is out of range or already in use; the message is one line naming which
     * @throws IOException when the server cannot be started for another reason
     */
    public static DashboardServer start(Path runsDir, String host, int port) throws IOException {
        RunCatalog catalog = new RunCatalog(runsDir);
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port must be from 0 to 65535, got " + port);
        }
        InetSocketAddress address = new InetSocketAddress(host, port);
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("--host " + host + " is not a known address of this machine");
        }
        HttpServer server;
        try {
            server = HttpServer.create(address, 0);
        } catch (BindException e) {
            throw new IllegalArgumentException("cannot listen on " + host + ":" + port + " (" + e.getMessage()
                    + "); the port is taken or the address is not this machine's: choose another --port or --host");
        }
        AtomicInteger threadCount = new AtomicInteger();
        ExecutorService executor = Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "gradguard-dashboard-" + threadCount.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        InetAddress bound = server.getAddress().getAddress();
        String hostText = bound.getHostAddress().contains(":") ? "[" + bound.getHostAddress() + "]" : bound.getHostAddress();
        if (bound.isAnyLocalAddress()) {
            hostText = "127.0.0.1";
        }
        URI url = URI.create("http://" + hostText + ":" + server.getAddress().getPort() + "/");
        DashboardServer dashboard = new DashboardServer(server, executor, catalog, bound.isLoopbackAddress(), url);
        server.createContext("/", dashboard::handle);
        server.start();
        return dashboard;
    }

    /** The dashboard's address, e.g. {@code http://127.0.0.1:6007/}. */
    public URI url() {
        return url;
    }

    /** The page of the run in {@code runsDir/<name>}, e.g. {@code http://127.0.0.1:6007/run/live}. */
    public URI runUrl(String name) {
        return url.resolve(DashboardPages.runPath(name).substring(1));
    }

    /** The port the server listens on. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** The runs directory, its real path. */
    public Path runsDir() {
        return catalog.root();
    }

    /** Stops serving at once; closing again does nothing. */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    private void handle(HttpExchange exchange) {
        try {
            String method = exchange.getRequestMethod();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                sendError(exchange, 405, "only GET and HEAD are allowed");
                return;
            }
            if (loopback && !loopbackHost(exchange.getRequestHeaders().getFirst("Host"))) {
                sendError(exchange, 403, "the Host header must name this machine (localhost or 127.0.0.1)");
                return;
            }
            List<String> path;
            try {
                path = RequestPath.segments(exchange.getRequestURI().getRawPath());
            } catch (RequestPath.BadPathException e) {
                sendError(exchange, 400, e.getMessage());
                return;
            }
            route(exchange, path);
        } catch (IOException | RuntimeException e) {
            // a run's files changed or vanished under us, or the client went away; the next poll starts afresh
            if (exchange.getResponseCode() == -1) {
                try {
                    sendError(exchange, 500, "could not read the run's files just now; try again");
                } catch (IOException clientGone) {
                    // nothing left to tell
                }
            }
        } finally {
            exchange.close();
        }
    }

    private void route(HttpExchange exchange, List<String> path) throws IOException {
        long now = System.currentTimeMillis();
        if (path.isEmpty()) {
            Path root = catalog.root();
            String rootName = root.getFileName() == null ? root.toString() : root.getFileName().toString();
            send(exchange, 200, "text/html", DashboardPages.index(rootName, catalog.list(), now, nonceFor(exchange)));
        } else if (path.size() >= 2 && path.get(0).equals("run")) {
            String name = String.join("/", path.subList(1, path.size()));
            if (catalog.find(name).isEmpty()) {
                sendError(exchange, 404, "no run called '" + name + "' in this directory");
            } else {
                send(exchange, 200, "text/html", DashboardPages.run(name, catalog.root(), nonceFor(exchange)));
            }
        } else if (path.equals(DashboardPages.CHART_LIBRARY_PATH)) {
            send(exchange, 200, "text/javascript", DashboardPages.CHART_LIBRARY);
        } else if (path.equals(List.of("api", "runs"))) {
            send(exchange, 200, "application/json", Json.compact().writeValueAsString(DashboardApi.runs(catalog.list(), now)));
        } else if (path.size() >= 4 && path.get(0).equals("api") && path.get(1).equals("run")
                && path.get(path.size() - 1).equals("metrics")) {
            String name = String.join("/", path.subList(2, path.size() - 1));
            Optional<RunCatalog.Run> run = catalog.find(name);
            FromParameter from = fromParameter(exchange.getRequestURI().getRawQuery());
            if (!from.valid()) {
                sendError(exchange, 400, "'from' must be a step number, e.g. from=0");
            } else if (run.isEmpty()) {
                sendError(exchange, 404, "no run called '" + name + "' in this directory");
            } else {
                send(exchange, 200, "application/json",
                        Json.compact().writeValueAsString(DashboardApi.metrics(run.get(), from.value(), now)));
            }
        } else {
            sendError(exchange, 404, "no such page");
        }
    }

    /** The {@code from} query parameter: 0 when absent, invalid when not a non-negative integer. */
    private record FromParameter(boolean valid, long value) {
    }

    private static FromParameter fromParameter(String rawQuery) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return new FromParameter(true, 0);
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.startsWith("from=")) {
                String v = pair.substring("from=".length());
                if (!v.matches("\\d{1,18}")) {
                    return new FromParameter(false, 0);
                }
                return new FromParameter(true, Long.parseLong(v));
            }
        }
        return new FromParameter(true, 0);
    }

    /** A loopback name, or no Host at all (an HTTP/1.0 client). */
    static boolean loopbackHost(String hostHeader) {
        if (hostHeader == null) {
            return true;
        }
        String h = hostHeader.trim().toLowerCase(Locale.ROOT);
        String name = h.startsWith("[") ? h.substring(0, h.indexOf(']') + 1) : h.replaceFirst(":\\d*$", "");
        return name.equals("localhost") || name.equals("[::1]") || name.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    }

    /**
     * A fresh CSP nonce, set in the response's policy, for the page's inline script; the only other script
     * allowed is this server's own (the chart library, served from the jar).
     */
    private static String nonceFor(HttpExchange exchange) {
        byte[] bytes = new byte[16];
        NONCES.nextBytes(bytes);
        String nonce = Base64.getEncoder().encodeToString(bytes);
        exchange.getResponseHeaders().set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-" + nonce
                + "' 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none';"
                + " form-action 'none'; frame-ancestors 'none'");
        return nonce;
    }

    private static void sendError(HttpExchange exchange, int status, String message) throws IOException {
        boolean api = exchange.getRequestURI().getRawPath().startsWith("/api/");
        if (api) {
            send(exchange, status, "application/json", Json.compact().writeValueAsString(Map.of("error", message)));
        } else {
            exchange.getResponseHeaders().set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
            send(exchange, status, "text/html", DashboardPages.error(status, message));
        }
    }

    private static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        var headers = exchange.getResponseHeaders();
        headers.set("Content-Type", type + "; charset=utf-8");
        headers.set("Cache-Control", "no-store");
        headers.set("X-Content-Type-Options", "nosniff");
        headers.set("Referrer-Policy", "no-referrer");
        if (exchange.getRequestMethod().equals("HEAD")) {
            headers.set("Content-Length", Integer.toString(bytes.length));
            exchange.sendResponseHeaders(status, -1);
            return;
        }
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
