package dev.gradguard.bench;

import dev.gradguard.clip.GradBuffer;
import dev.gradguard.dist.DataParallel;
import dev.gradguard.dist.DataSharding;
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
 * Data-parallel throughput on this machine: one worker with all the threads vs one worker per thread pair,
 * the same global batch, an MLP ({@code in -> hidden -> hidden -> 10}) trained with SGD; each step is
 * forward, backward, gradient all-reduce (mean, through {@link DataParallel#synchronize(GradBuffer)}) and
 * the update. Prints the median step time, the all-reduce's share, and samples per second.
 *
 * <p>Usage: {@code DistBenchmark [steps [globalBatch [hidden [threads]]]]}, defaults 200, 256, 512, the cores.
 */
public final class DistBenchmark {
    private static final int INPUT = 256;
    private static final int WARMUP = 20;

    /** One configuration's numbers, from rank 0. */
    public record Row(int workers, int threadsPerWorker, double stepMs, double allReduceMs, double samplesPerSecond) {
    }

    private DistBenchmark() {
    }

    /** Runs 1 worker x {@code threads} threads, then {@code threads} workers x 1 thread (and 2 x threads/2 if different). */
    public static List<Row> run(int steps, int globalBatch, int hidden, int threads) throws Exception {
        List<int[]> configs = new ArrayList<>();
        configs.add(new int[] {1, threads});
        if (threads >= 4) {
            configs.add(new int[] {2, threads / 2});
        }
        if (threads >= 2) {
            configs.add(new int[] {threads, 1});
        }
        List<Row> rows = new ArrayList<>();
        for (int[] c : configs) {
            rows.add(measure(c[0], c[1], steps, globalBatch, hidden));
        }
        return rows;
    }

    private static Row measure(int workers, int threadsEach, int steps, int globalBatch, int hidden) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        LaunchOptions o = new LaunchOptions(workers, 1, 0, LaunchOptions.DEFAULT_MASTER_ADDR, port, threadsEach,
                Duration.ofSeconds(5), List.of(Integer.toString(steps), Integer.toString(globalBatch / workers),
                        Integer.toString(hidden)));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream sink = new PrintStream(out, true, StandardCharsets.UTF_8);
        LaunchResult r = new Launcher(o, Worker.class.getName(), System.getProperty("java.class.path"), sink, sink).run();
        String text = out.toString(StandardCharsets.UTF_8);
        if (!r.succeeded()) {
            throw new IllegalStateException("benchmark workers failed: " + r.message() + "\n" + text);
        }
        Matcher m = Pattern.compile("\\[rank 0\\] RESULT (\\S+) (\\S+) (\\S+)").matcher(text);
        if (!m.find()) {
            throw new IllegalStateException("no result from rank 0:\n" + text);
        }
        return new Row(workers, threadsEach, Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)),
                Double.parseDouble(m.group(3)));
    }

    /** A Markdown table of the rows, with throughput relative to the first. */
    public static String table(List<Row> rows, int steps, int batch, int hidden) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "MLP %d-%d-%d-10, global batch %d, %d timed steps (after %d warm-up), "
                + "%d cores%n%n", INPUT, hidden, hidden, batch, steps, WARMUP, Runtime.getRuntime().availableProcessors()));
        sb.append("| workers x threads | step ms (median) | all-reduce ms (median) | samples/s | vs first |\n");
        sb.append("|---|---|---|---|---|\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %d x %d | %.2f | %.2f | %.0f | %.2fx |%n", r.workers(),
                    r.threadsPerWorker(), r.stepMs(), r.allReduceMs(), r.samplesPerSecond(),
                    r.samplesPerSecond() / rows.get(0).samplesPerSecond()));
        }
        return sb.toString();
    }

    /** A benchmark worker: {@code steps batchPerWorker hidden}, threads from {@code GRADGUARD_THREADS}. */
    public static final class Worker {
        public static void main(String[] args) {
            int steps = Integer.parseInt(args[0]);
            int batch = Integer.parseInt(args[1]);
            int hidden = Integer.parseInt(args[2]);
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
                torch.manual_seed(DataSharding.seedFor(2, dp.rank()));
                Tensor x = torch.randn(batch, INPUT);
                Tensor y = torch.randn(batch, 10);
                Scalar lr = new Scalar(0.01);
                double[] stepMs = new double[steps];
                double[] reduceMs = new double[steps];
                long wallStart = 0;
                for (int s = -WARMUP; s < steps; s++) {
                    if (s == 0) {
                        dp.barrier();
                        wallStart = System.nanoTime();
                    }
                    long t0 = System.nanoTime();
                    long t1;
                    long t2;
                    try (PointerScope scope = new PointerScope()) {
                        buffer.zero();
                        Tensor h = torch.relu(x.matmul(params.get(0).t()).add(params.get(1)));
                        h = torch.relu(h.matmul(params.get(2).t()).add(params.get(3)));
                        torch.mse_loss(h.matmul(params.get(4).t()).add(params.get(5)), y).backward();
                        t1 = System.nanoTime();
                        dp.synchronize(buffer);
                        t2 = System.nanoTime();
                        try (NoGradGuard g = new NoGradGuard()) {
                            for (Tensor p : params) {
                                p.sub_(p.grad().mul(lr));
                            }
                        }
                    }
                    if (s >= 0) {
                        stepMs[s] = (System.nanoTime() - t0) / 1e6;
                        reduceMs[s] = (t2 - t1) / 1e6;
                    }
                }
                dp.barrier();
                double wall = (System.nanoTime() - wallStart) / 1e9;
                List<String> sums = dp.gatherChecksums(params.checksum());
                if (sums.stream().distinct().count() != 1) {
                    throw new IllegalStateException("ranks drifted apart: " + sums);
                }
                if (dp.isMain()) {
                    System.out.printf(Locale.ROOT, "RESULT %.3f %.3f %.1f%n", Stats.median(stepMs), Stats.median(reduceMs),
                            (double) batch * dp.worldSize() * steps / wall);
                }
            }
        }
    }
}
