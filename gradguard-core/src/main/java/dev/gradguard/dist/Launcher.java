package dev.gradguard.dist;

import dev.gradguard.checkpoint.CheckpointStore;
import dev.gradguard.checkpoint.LoadedCheckpoint;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Starts the worker JVMs of one node of a data-parallel job, torchrun-style, and watches them.
 *
 * <p>Each worker is {@code java -cp <class path> <main class> <worker args>}, with the JVM's own {@code -D}
 * and {@code -X} options passed on, and this environment (torchrun's names):
 * {@code RANK}, {@code LOCAL_RANK}, {@code WORLD_SIZE}, {@code LOCAL_WORLD_SIZE}, {@code MASTER_ADDR},
 * {@code MASTER_PORT}, plus {@value #THREADS_ENV} and {@code OMP_NUM_THREADS} set to the threads per
 * worker. For {@code gradguard train}, whose {@code --threads} defaults to all cores, {@code --threads N}
 * is added when the user gave none (a {@code threads} key in a config file is then overridden).
 *
 * <p>Every line a worker prints is copied to this process's standard output or error prefixed with
 * {@code [rank k] }. When a worker exits non-zero, the others are stopped (SIGTERM, and SIGKILL after
 * {@link LaunchOptions#stopTimeout()}), together with any processes they started, and the result names the
 * rank, its exit code and its last error line. A shutdown hook does the same when this JVM is stopped
 * (SIGINT, SIGTERM), so no worker outlives the launcher. Workers on other nodes are not watched: they fail
 * on their own when their peers disappear (the process group's timeout).
 *
 * <p>With {@link LaunchOptions#restarts()} allowing it, a failure is followed by a restart, like torchrun's
 * elastic mode: every worker is stopped as above, one line saying which rank failed with which code and which
 * restart this is goes to the error stream, and the workers start again. The worker command must then be
 * {@code train} with {@code --checkpoint-every} and {@code --out}: a restart adds {@code --resume} when the run
 * directory holds a valid checkpoint (the newest that verifies, as {@code --resume} picks it), and otherwise
 * {@code --overwrite}, so that a run that died before its first checkpoint starts over from step 0, removing
 * only the files that its own earlier start wrote. Each node restarts only its own workers; on other nodes,
 * the workers fail when their peers go, and their launchers restart them if they allow it.
 *
 * <p>Not thread-safe; {@link #run()} may be called once.
 */
public final class Launcher {
    /** The environment variable that tells a worker how many libtorch threads to use. */
    public static final String THREADS_ENV = "GRADGUARD_THREADS";
    /** The most workers per core: more only time-slice the cores (each worker has at least one thread). */
    public static final int WORKERS_PER_CORE = 4;
    /** About what one worker JVM with libtorch takes before its model and data, in MB. */
    public static final long WORKER_MEGABYTES = 512;
    private static final Duration POLL = Duration.ofMillis(20);
    /** Polls between two looks at the workers' descendants (100 ms). */
    private static final int DESCENDANT_POLLS = 5;

    private final LaunchOptions options;
    private final String mainClass;
    private final String classPath;
    private final PrintStream out;
    private final PrintStream err;
    private final List<Process> workers = new ArrayList<>();
    private final List<Thread> pumps = new ArrayList<>();
    private final List<LastLines> lastLines = new ArrayList<>();
    /** Every descendant of a worker seen so far: a worker that exits leaves its children re-parented. */
    private final Set<ProcessHandle> seenDescendants = new LinkedHashSet<>();
    /** Set by the shutdown hook: no worker may start after it has stopped those running. */
    private boolean shuttingDown;

    /**
     * @param options what to start
     * @param mainClass the workers' main class, e.g. the application's main class
     * @param classPath the workers' class path, e.g. this JVM's {@code java.class.path}
     * @param out where workers' standard output goes, prefixed
     * @param err where workers' standard error goes, prefixed
     */
    public Launcher(LaunchOptions options, String mainClass, String classPath, PrintStream out, PrintStream err) {
        this.options = Objects.requireNonNull(options, "options");
        this.mainClass = Objects.requireNonNull(mainClass, "mainClass");
        this.classPath = Objects.requireNonNull(classPath, "classPath");
        this.out = Objects.requireNonNull(out, "out");
        this.err = Objects.requireNonNull(err, "err");
    }

    /** The environment a worker gets, beyond this process's own. */
    public static Map<String, String> workerEnvironment(LaunchOptions o, int localRank) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put(DistEnv.RANK, Integer.toString(o.globalRank(localRank)));
        env.put(DistEnv.LOCAL_RANK, Integer.toString(localRank));
        env.put(DistEnv.WORLD_SIZE, Integer.toString(o.worldSize()));
        env.put(DistEnv.LOCAL_WORLD_SIZE, Integer.toString(o.nprocPerNode()));
        env.put(DistEnv.MASTER_ADDR, o.masterAddr());
        env.put(DistEnv.MASTER_PORT, Integer.toString(o.masterPort()));
        env.put(THREADS_ENV, Integer.toString(o.threadsPerWorker()));
        env.put("OMP_NUM_THREADS", Integer.toString(o.threadsPerWorker()));
        env.putAll(o.timeouts().environment());
        return env;
    }

    /**
     * Refuses a launch this machine cannot hold, before anything starts: more workers than
     * {@value #WORKERS_PER_CORE} per core or than fit in its memory at about {@value #WORKER_MEGABYTES} MB each
     * (a worker JVM with libtorch loaded), a master address that does not resolve, and, on the node that hosts
     * rank 0, a master port that is already taken; and restarts for a worker command that cannot resume (one
     * other than {@code train}, or without {@code --checkpoint-every N}, {@code N >= 1}, or {@code --out} on its
     * command line).
     *
     * @throws IllegalArgumentException one line naming what is wrong, with the machine's numbers
     */
    public static void checkLaunchable(LaunchOptions o) {
        if (o.restarts().max() > 0) {
            checkResumable(o.workerArgs());
        }
        int cores = Runtime.getRuntime().availableProcessors();
        long memory = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getTotalMemorySize();
        long byMemory = memory / (WORKER_MEGABYTES << 20);
        long most = Math.max(1, Math.min((long) WORKERS_PER_CORE * cores, byMemory));
        if (o.nprocPerNode() > most) {
            throw new IllegalArgumentException("--nproc-per-node " + o.nprocPerNode() + " is more than this machine can"
                    + " hold: at most " + most + " (" + cores + " cores, at most " + WORKERS_PER_CORE + " workers each; "
                    + (memory >> 20) + " MB of memory at about " + WORKER_MEGABYTES + " MB per worker JVM)");
        }
        try {
            InetAddress.getByName(o.masterAddr());
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("--master-addr " + o.masterAddr() + " does not resolve to an address;"
                    + " name the host of rank 0 (an IP address or a name this machine resolves)");
        }
        if (o.nodeRank() == 0) {
            try (ServerSocket probe = new ServerSocket()) {
                probe.bind(new InetSocketAddress(o.masterPort()));
            } catch (IOException e) {
                throw new IllegalArgumentException("--master-port " + o.masterPort() + " is already in use on this machine"
                        + " (another job, or a process still holding it): choose another --master-port, or --standalone"
                        + " for a free one");
            }
        }
    }

    private static void checkResumable(List<String> args) {
        String needs = "--max-restarts needs a worker command 'train ... --checkpoint-every N --out DIR' (on the launch"
                + " command line, not in a --config file), so that restarted workers resume from the last checkpoint";
        if (args.isEmpty() || !args.get(0).equals("train")) {
            throw new IllegalArgumentException(needs + "; the worker command here is '"
                    + (args.isEmpty() ? "" : args.get(0)) + "'");
        }
        Optional<String> every = optionValue(args, "--checkpoint-every");
        long n;
        try {
            n = every.map(Long::parseLong).orElse(0L);
        } catch (NumberFormatException e) {
            n = 0;
        }
        if (n < 1) {
            throw new IllegalArgumentException(needs + "; --checkpoint-every is "
                    + every.map(v -> "'" + v + "'").orElse("missing"));
        }
        if (optionValue(args, "--out").isEmpty()) {
            throw new IllegalArgumentException(needs + "; --out is missing");
        }
    }

    /** The value of {@code --name V} or {@code --name=V} in a worker command line, the last one given. */
    private static Optional<String> optionValue(List<String> args, String name) {
        Optional<String> value = Optional.empty();
        for (int i = 1; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals(name) && i + 1 < args.size()) {
                value = Optional.of(args.get(i + 1));
            } else if (a.startsWith(name + "=")) {
                value = Optional.of(a.substring(name.length() + 1));
            }
        }
        return value;
    }

    /**
     * The step of the newest checkpoint that verifies in the run directory of a {@code train} worker command
     * ({@code --out}), which {@code train --resume} would continue from; empty when there is none.
     */
    public static OptionalLong resumableStep(LaunchOptions o) {
        Optional<String> out = optionValue(o.workerArgs(), "--out");
        if (out.isEmpty()) {
            return OptionalLong.empty();
        }
        Optional<LoadedCheckpoint> newest = CheckpointStore.inRun(Path.of(out.get()), CheckpointStore.DEFAULT_KEEP_LAST)
                .latestValid().checkpoint();
        return newest.isPresent() ? OptionalLong.of(newest.get().step()) : OptionalLong.empty();
    }

    /**
     * The worker's main-class arguments for a restart: {@link #workerArguments}, with any {@code --resume} or
     * {@code --overwrite} replaced by {@code --resume} when {@code resume}, else by {@code --overwrite}.
     */
    public static List<String> restartArguments(LaunchOptions o, boolean resume) {
        List<String> args = new ArrayList<>(workerArguments(o));
        args.removeIf(a -> a.equals("--resume") || a.equals("--overwrite"));
        args.add(resume ? "--resume" : "--overwrite");
        return args;
    }

    /** The worker's main-class arguments: {@code --threads N} added to {@code train} when the user gave none. */
    public static List<String> workerArguments(LaunchOptions o) {
        List<String> args = new ArrayList<>(o.workerArgs());
        boolean hasThreads = args.stream().anyMatch(a -> a.equals("--threads") || a.startsWith("--threads="));
        if (!args.isEmpty() && args.get(0).equals("train") && !hasThreads) {
            args.add(1, "--threads");
            args.add(2, Integer.toString(o.threadsPerWorker()));
        }
        return args;
    }

    /** The full command line of a worker at the first start. */
    public List<String> workerCommand() {
        return workerCommand(workerArguments(options));
    }

    private List<String> workerCommand(List<String> arguments) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String jvmArg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if ((jvmArg.startsWith("-D") || jvmArg.startsWith("-X")) && !jvmArg.startsWith("-Xdebug")
                    && !jvmArg.startsWith("-Xrunjdwp")) {
                cmd.add(jvmArg);
            }
        }
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(mainClass);
        cmd.addAll(arguments);
        return cmd;
    }

    /**
     * Starts the workers, copies their output, and waits until all exit 0 or one fails (then stops the rest);
     * after a failure, starts them again as long as {@link LaunchOptions#restarts()} allows.
     *
     * @return how it ended, with the restarts made; never a worker left running
     * @throws IllegalArgumentException when the machine cannot hold the launch ({@link #checkLaunchable})
     * @throws IOException if a worker cannot be started (those started are stopped first)
     * @throws InterruptedException if this thread is interrupted, or this JVM shuts down between two starts (the
     *     workers are stopped first)
     */
    public LaunchResult run() throws IOException, InterruptedException {
        checkLaunchable(options);
        Thread hook = new Thread(() -> {
            synchronized (workers) {
                shuttingDown = true;
            }
            stopWorkers();
        }, "gradguard-launch-teardown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            List<String> arguments = workerArguments(options);
            for (int restarts = 0; ; restarts++) {
                LaunchResult result = startAndWatch(arguments, restarts);
                if (result.succeeded() || !options.restarts().allowAfter(restarts, result.failedExitCode())) {
                    return result;
                }
                finishAttempt();
                OptionalLong step = resumableStep(options);
                arguments = restartArguments(options, step.isPresent());
                synchronized (err) {
                    err.println("gradguard: rank " + result.failedRank().getAsInt() + " exited with code "
                            + result.failedExitCode() + "; restart " + (restarts + 1) + " of " + options.restarts().max()
                            + ": " + (step.isPresent() ? "resuming from the checkpoint of step " + step.getAsLong()
                                    : "no valid checkpoint yet, starting over (--overwrite)"));
                    err.flush();
                }
            }
        } finally {
            finishAttempt();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException hookRunning) {
                // the hook is running or will run; it stops the same workers
            }
        }
    }

    /** Stops the workers of the current attempt and waits for their output to be copied. */
    private void finishAttempt() throws InterruptedException {
        stopWorkers();
        for (Thread pump : pumps) {
            pump.join(options.stopTimeout().toMillis() + 1000);
        }
        synchronized (workers) {
            workers.clear();
            seenDescendants.clear();
        }
        pumps.clear();
        lastLines.clear();
    }

    private LaunchResult startAndWatch(List<String> arguments, int restarts) throws IOException, InterruptedException {
        List<String> command = workerCommand(arguments);
        for (int local = 0; local < options.nprocPerNode(); local++) {
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().putAll(workerEnvironment(options, local));
            Process p;
            synchronized (workers) {
                if (shuttingDown) {
                    throw new InterruptedException("the launcher is being stopped; no worker is started");
                }
                p = pb.start();
                workers.add(p);
            }
            int rank = options.globalRank(local);
            LastLines last = new LastLines();
            lastLines.add(last);
            pumps.add(pump(p.getInputStream(), out, rank, last, false));
            pumps.add(pump(p.getErrorStream(), err, rank, last, true));
        }
        int n = workers.size();
        Integer[] codes = new Integer[n];
        int exited = 0;
        for (long polls = 0; exited < n; polls++) {
            if (polls % DESCENDANT_POLLS == 0) {
                rememberDescendants();
            }
            for (int i = 0; i < n; i++) {
                if (codes[i] == null && !workers.get(i).isAlive()) {
                    codes[i] = workers.get(i).exitValue();
                    exited++;
                    if (codes[i] != 0) {
                        return failure(i, codes[i], restarts);
                    }
                }
            }
            Thread.sleep(POLL.toMillis());
        }
        List<Integer> all = new ArrayList<>();
        for (Integer c : codes) {
            all.add(c);
        }
        return new LaunchResult(0, OptionalInt.empty(), 0, "", all, restarts);
    }

    private LaunchResult failure(int local, int code, int restarts) throws InterruptedException {
        stopWorkers();
        // the failed worker's last lines may still be in its pipe
        pumps.get(2 * local).join(1000);
        pumps.get(2 * local + 1).join(1000);
        List<Integer> all = new ArrayList<>();
        for (Process p : workers) {
            all.add(p.waitFor());
        }
        int exit = code >= 1 && code <= 255 ? code : 1;
        return new LaunchResult(exit, OptionalInt.of(options.globalRank(local)), code, lastLines.get(local).best(), all,
                restarts);
    }

    private void rememberDescendants() {
        synchronized (workers) {
            for (Process p : workers) {
                p.descendants().forEach(seenDescendants::add);
            }
        }
    }

    /**
     * SIGTERM to every live worker and every descendant seen, SIGKILL to those still alive after the timeout.
     * Descendants are looked up every 100 ms while the workers run: a process that a worker starts and
     * abandons (by exiting) within that interval is not seen.
     */
    private void stopWorkers() {
        List<ProcessHandle> targets = new ArrayList<>();
        synchronized (workers) {
            rememberDescendants();
            targets.addAll(seenDescendants);
            for (Process p : workers) {
                targets.add(p.toHandle());
            }
        }
        targets.removeIf(h -> !h.isAlive());
        if (targets.isEmpty()) {
            return;
        }
        targets.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + options.stopTimeout().toNanos();
        for (ProcessHandle h : targets) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                try {
                    h.onExit().get(left, java.util.concurrent.TimeUnit.NANOSECONDS);
                } catch (Exception stillRunningOrInterrupted) {
                    // SIGKILL below
                }
            }
        }
        for (ProcessHandle h : targets) {
            if (h.isAlive()) {
                h.destroyForcibly();
            }
        }
        for (ProcessHandle h : targets) {
            try {
                h.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                // SIGKILL cannot be refused; the kernel reaps it
            }
        }
    }

    private static Thread pump(InputStream in, PrintStream sink, int rank, LastLines last, boolean stderr) {
        String prefix = "[rank " + rank + "] ";
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    last.see(line, stderr);
                    synchronized (sink) {
                        sink.println(prefix + line);
                        sink.flush();
                    }
                }
            } catch (IOException closed) {
                // the worker is gone
            }
        }, "gradguard-launch-rank" + rank + (stderr ? "-err" : "-out"));
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** A worker's last lines, for naming what went wrong. */
    private static final class LastLines {
        private String lastError = "";
        private String lastStderr = "";
        private String lastStdout = "";

        synchronized void see(String line, boolean stderr) {
            String l = line.strip();
            if (l.isEmpty()) {
                return;
            }
            if (!stderr) {
                lastStdout = l;
                return;
            }
            lastStderr = l;
            String lower = l.toLowerCase(Locale.ROOT);
            if ((lower.contains("error") || lower.contains("exception")) && !l.startsWith("at ")) {
                lastError = l;
            }
        }

        synchronized String best() {
            return !lastError.isEmpty() ? lastError : !lastStderr.isEmpty() ? lastStderr : lastStdout;
        }
    }
}
