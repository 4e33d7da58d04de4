package dev.gradguard.bench;

import dev.gradguard.clip.GradBuffer;
import dev.gradguard.dist.DataParallel;
import dev.gradguard.dist.DataSharding;
import dev.gradguard.dist.GradSync;
import dev.gradguard.dist.LaunchOptions;
import dev.gradguard.dist.LaunchResult;
import dev.gradguard.dist.Launcher;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Data-parallel throughput on this machine: one worker with all the threads vs one worker per core, the same
 * global batch, an MLP ({@code in -> hidden -> hidden -> 10}) trained with SGD; each step is forward,
 * backward, the gradient average over the ranks and the update. Multi-worker configurations run once with
 * each {@link GradSync} mode: the flat all-reduce after backward and DDP's Reducer during backward.
 * Configurations alternate over several rounds so that drift of a shared machine hits all alike; each row is
 * the median over rounds of the per-round medians.
 *
 * <p>Reported per configuration: the median step; the median backward (under the Reducer it includes the
 * all-reduces it overlaps with the computation); the median all-reduce after backward (the flat sync's whole
 * cost, nothing under the Reducer); and samples per second over the timed steps.
 */
public final class DistBenchmark {
    private static final int INPUT = 256;
    private static final int WARMUP = 20;

    /** One configuration's numbers, from rank 0. */
    public record Row(int workers, int threadsPerWorker, GradSync sync, double stepMs, double backwardMs,
            double syncMs, double samplesPerSecond) {
    }

    private record Config(int workers, int threads, GradSync sync) {
    }

    private DistBenchmark() {
    }

    /**
     * Runs 1 worker x {@code threads} threads, then {@code threads} workers x 1 thread (and 2 x threads/2 if
     * different) with each gradient sync, {@code rounds} times in turn.
     */
    public static List<Row> run(int steps, int globalBatch, int hidden, int threads, int rounds) throws Exception {
        if (rounds < 1) {
            throw new IllegalArgumentException("rounds must be at least 1, got " + rounds);
        }
        List<Config> configs = new ArrayList<>();
        configs.add(new Config(1, threads, GradSync.FLAT));
        List<int[]> multi = new ArrayList<>();
        if (threads >= 4) {
            multi.add(new int[] {2, threads / 2});
        }
        if (threads >= 2) {
            multi.add(new int[] {threads, 1});
        }
        for (int[] c : multi) {
            for (GradSync sync : GradSync.values()) {
                configs.add(new Config(c[0], c[1], sync));
            }
        }
        List<List<double[]>> samples = new ArrayList<>();
        for (int i = 0; i < configs.size(); i++) {
            samples.add(new ArrayList<>());
        }
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < configs.size(); i++) {
                samples.get(i).add(measure(configs.get(i), steps, globalBatch, hidden));
            }
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < configs.size(); i++) {
            Config c = configs.get(i);
            List<double[]> s = samples.get(i);
            rows.add(new Row(c.workers(), c.threads(), c.sync(), median(s, 0), median(s, 1), median(s, 2), median(s, 3)));
        }
        return rows;
    }

    private static double median(List<double[]> rounds, int column) {
        return Stats.median(rounds.stream().mapToDouble(r -> r[column]).toArray());
    }

    private static double[] measure(Config c, int steps, int globalBatch, int hidden) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        LaunchOptions o = new LaunchOptions(c.workers(), 1, 0, LaunchOptions.DEFAULT_MASTER_ADDR, port, c.threads(),
                Duration.ofSeconds(5), List.of(Integer.toString(steps), Integer.toString(globalBatch / c.workers()),
                        Integer.toString(hidden), c.sync().cliName()));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream sink = new PrintStream(out, true, StandardCharsets.UTF_8);
        LaunchResult r = new Launcher(o, Worker.class.getName(), System.getProperty("java.class.path"), sink, sink).run();
        String text = out.toString(StandardCharsets.UTF_8);
        if (!r.succeeded()) {
            throw new IllegalStateException("benchmark workers failed: " + r.message() + "\n" + text);
        }
        Matcher m = Pattern.compile("\\[rank 0\\] RESULT (\\S+) (\\S+) (\\S+) (\\S+)").matcher(text);
        if (!m.find()) {
            throw new IllegalStateException("no result from rank 0:\n" + text);
        }
        return new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)),
                Double.parseDouble(m.group(4))};
    }

    /** A Markdown table of the rows, with throughput relative to the first. */
    public static String table(List<Row> rows, int steps, int batch, int hidden, int rounds) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "MLP %d-%d-%d-10, global batch %d, %d timed steps (after %d warm-up), "
                + "%d rounds, %d cores%n%n", INPUT, hidden, hidden, batch, steps, WARMUP, rounds,
                Runtime.getRuntime().availableProcessors()));
        sb.append("| workers x threads | gradient sync | step ms | backward ms | all-reduce after backward ms | samples/s | vs first |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %d x %d | %s | %.2f | %.2f | %.2f | %.0f | %.2fx |%n", r.workers(),
                    r.threadsPerWorker(), r.workers() == 1 ? "none" : r.sync().cliName(), r.stepMs(), r.backwardMs(),
                    r.syncMs(), r.samplesPerSecond(), r.samplesPerSecond() / rows.get(0).samplesPerSecond()));
        }
        return sb.toString();
    }

    /** A benchmark worker: {@code steps batchPerWorker hidden sync}, threads from {@code GRADGUARD_THREADS}. */
    public static final class Worker {
        public static void main(String[] args) {
            int steps = Integer.parseInt(args[0]);
            int batch = Integer.parseInt(args[1]);
            int hidden = Integer.parseInt(args[2]);
            GradSync sync = GradSync.parse(args[3]);
            Torch.setThreads(Integer.parseInt(System.getenv().getOrDefault(Launcher.THREADS_ENV, "1")));
            try (DataParallel dp = DataParallel.fromEnvironment()) {
                torch.manual_seed(1);
                Parameters params = Parameters.of(List.of("w1", "b1", "w2", "b2", "w3", "b3"), List.of(
                        torch.randn(hidden, INPUT).mul(new Scalar(0.05)).set_requires_grad(true),
                        torch.zeros(hidden).set_requires_grad(true),
                        torch.randn(hidden, hidden).mul(new Scalar(0.05)).set_requires_grad(true),
                        torch.zeros(hidden).set_requires_grad(true),
                        torch.randn(10, hidden).mul(new Scalar(0.05)).set_requires_grad(true),
                        torch.zeros(10).set_requires_grad(true)));
                dp.broadcast(params);
                GradBuffer buffer = GradBuffer.bind(params);
                dp.useGradSync(sync, params);
                torch.manual_seed(DataSharding.seedFor(2, dp.rank()));
                Tensor x = torch.randn(batch, INPUT);
                Tensor y = torch.randn(batch, 10);
                Scalar lr = new Scalar(0.01);
                double[] stepMs = new double[steps];
                double[] backwardMs = new double[steps];
                double[] syncMs = new double[steps];
                long wallStart = 0;
                for (int s = -WARMUP; s < steps; s++) {
                    if (s == 0) {
                        dp.barrier();
                        wallStart = System.nanoTime();
                    }
                    long t0 = System.nanoTime();
                    long t1;
                    long t2;
                    long t3;
                    try (PointerScope scope = new PointerScope()) {
                        buffer.zero();
                        dp.beforeForward(true);
                        Tensor h = torch.relu(x.matmul(params.get(0).t()).add(params.get(1)));
                        h = torch.relu(h.matmul(params.get(2).t()).add(params.get(3)));
                        Tensor loss = torch.mse_loss(h.matmul(params.get(4).t()).add(params.get(5)), y);
                        dp.beforeBackward(true);
                        t1 = System.nanoTime();
                        loss.backward();
                        t2 = System.nanoTime();
                        dp.synchronize(buffer);
                        t3 = System.nanoTime();
                        try (NoGradGuard g = new NoGradGuard()) {
                            for (Tensor p : params) {
                                p.sub_(p.grad().mul(lr));
                            }
                        }
                    }
                    if (s >= 0) {
                        stepMs[s] = (System.nanoTime() - t0) / 1e6;
                        backwardMs[s] = (t2 - t1) / 1e6;
                        syncMs[s] = (t3 - t2) / 1e6;
                    }
                }
                dp.barrier();
                double wall = (System.nanoTime() - wallStart) / 1e9;
                List<String> sums = dp.gatherChecksums(params.checksum());
                if (sums.stream().distinct().count() != 1) {
                    throw new IllegalStateException("ranks drifted apart: " + sums);
                }
                if (dp.isMain()) {
                    System.out.printf(Locale.ROOT, "RESULT %.3f %.3f %.3f %.1f%n", Stats.median(stepMs),
                            Stats.median(backwardMs), Stats.median(syncMs),
                            (double) batch * dp.worldSize() * steps / wall);
                }
            }
        }
    }
}
