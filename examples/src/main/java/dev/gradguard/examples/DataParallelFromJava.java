package dev.gradguard.examples;

import dev.gradguard.clip.Clip;
import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.data.Rng;
import dev.gradguard.dist.DataParallel;
import dev.gradguard.dist.DataSharding;
import dev.gradguard.dist.LaunchOptions;
import dev.gradguard.dist.LaunchResult;
import dev.gradguard.dist.Launcher;
import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Model;
import dev.gradguard.session.SessionResult;
import dev.gradguard.session.TrainingSession;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Example 4: data-parallel training from Java, like {@code torchrun --nproc_per_node 2 train.py} with
 * {@code DistributedDataParallel}. {@link #launch} starts two worker JVMs of this class with torchrun's
 * environment; each {@link #worker} joins the group ({@code init_process_group}), draws its own share of every
 * global batch, and trains in a session whose gradients are averaged over the ranks every step. Rank 0 writes the
 * run directory.
 */
public final class DataParallelFromJava {
    static final int GLOBAL_BATCH = 32;

    private DataParallelFromJava() {
    }

    static final class Net extends Module implements Model {
        final LinearImpl fc1 = register_module("fc1", new LinearImpl(4, 16));
        final LinearImpl fc2 = register_module("fc2", new LinearImpl(16, 1));

        @Override
        public Module module() {
            return this;
        }

        @Override
        public Tensor forward(Tensor x) {
            return fc2.forward(torch.tanh(fc1.forward(x)));
        }
    }

    /** This rank's share of each global batch: x ~ U[-1, 1]^4, target sum(x), from its own stream. */
    static final class Shard implements BatchSource {
        private final Rng rng;
        private final int size;

        Shard(long seed, int size) {
            this.rng = new Rng(seed);
            this.size = size;
        }

        @Override
        public Batch next() {
            float[] x = new float[size * 4];
            float[] y = new float[size];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (2 * rng.nextDouble() - 1);
                y[i / 4] += x[i];
            }
            return new Batch(Tensors.fromFloats(x, size, 4), Tensors.fromFloats(y, size, 1));
        }

        @Override
        public Map<String, Object> stateDict() {
            return rng.stateDict();
        }

        @Override
        public void loadStateDict(Map<String, Object> state) {
            rng.loadStateDict(state);
        }
    }

    /** Starts two workers on this machine and waits for them; like {@code torchrun --nproc_per_node 2}. */
    public static LaunchResult launch(Path runDirectory, int port) throws IOException, InterruptedException {
        LaunchOptions options = new LaunchOptions(2, 1, 0, "127.0.0.1", port, 1, LaunchOptions.DEFAULT_STOP_TIMEOUT,
                List.of("worker", runDirectory.toString()));
        return new Launcher(options, DataParallelFromJava.class.getName(), System.getProperty("java.class.path"),
                System.out, System.err).run();
    }

    /** One worker: what each of torchrun's processes runs. */
    static SessionResult worker(Path runDirectory) throws IOException {
        Torch.load();
        Torch.setThreads(1);
        try (DataParallel parallel = DataParallel.fromEnvironment()) {      // dist.init_process_group("gloo")
            torch.manual_seed(0);                                           // rank 0's weights are broadcast anyway
            Net net = new Net();
            try (TrainingSession session = TrainingSession.builder()
                    .model(net)
                    .data(new Shard(DataSharding.seedFor(7, parallel.rank()), GLOBAL_BATCH / parallel.worldSize()))
                    .loss(torch::mse_loss)
                    .optimizer(new SGD(net.parameters(), new SGDOptions(0.1)))
                    .clip(Clip.norm(1.0))                                    // on the averaged gradients
                    .dataParallel(parallel)                                 // DistributedDataParallel(model)
                    .runDirectory(runDirectory)
                    .build()) {
                return session.run(40);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("worker")) {
            SessionResult r = worker(Path.of(args[1]));
            System.out.println("rank " + r.rank() + " checksum " + r.paramChecksum());
            return;
        }
        LaunchResult result = launch(Path.of(args.length > 0 ? args[0] : "runs/data-parallel-example"),
                LaunchOptions.DEFAULT_MASTER_PORT);
        System.exit(result.exitCode());
    }
}
