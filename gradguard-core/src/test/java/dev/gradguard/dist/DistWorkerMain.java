package dev.gradguard.dist;

import dev.gradguard.clip.ClipGrad;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A worker of the 2-process loopback tests, started with torchrun's environment. {@code collectives} checks
 * every collective against values computed locally from both ranks' known inputs and prints
 * {@code OK <name> ...} lines (exit 1 on a mismatch); {@code peer-dies}: rank 1 halts after the rendezvous,
 * rank 0 prints how long its next all-reduce took to fail.
 */
public final class DistWorkerMain {
    public static void main(String[] args) throws Exception {
        Torch.setThreads(1);
        DistEnv env = DistEnv.fromEnvironment();
        switch (args[0]) {
            case "collectives" -> collectives(env);
            case "peer-dies" -> peerDies(env);
            case "data-parallel" -> dataParallel(env);
            case "reducer" -> reducer(env);
            case "reducer-unused" -> reducerUnused(env);
            case "unused-branch" -> unusedBranch(env);
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.exit(0);
    }

    static Tensor randn(long seed, long... shape) {
        torch.manual_seed(seed);
        return torch.randn(shape);
    }

    private static void collectives(DistEnv env) {
        int rank = env.rank();
        try (DistGroup group = ProcessGroups.init(env, Duration.ofSeconds(30))) {
            // broadcast: different parameters per rank before, rank 0's everywhere after
            Parameters params = Parameters.of(List.of("w", "b"),
                    List.of(randn(100 + rank, 4, 3).set_requires_grad(true), randn(200 + rank, 3).set_requires_grad(true)));
            List<String> before = group.allGatherStrings(params.checksum());
            check(!before.get(0).equals(before.get(1)), "parameters differ before the broadcast");
            String rank0 = Parameters.of(List.of("w", "b"), List.of(randn(100, 4, 3), randn(200, 3))).checksum();
            group.broadcast(params, 0);
            List<String> after = group.allGatherStrings(params.checksum());
            check(after.equals(List.of(rank0, rank0)), "parameters identical after the broadcast: " + after);
            System.out.println("OK broadcast " + after.get(0));

            // all-reduce mean, bucketed: 10,000 elements in buckets of 999, and a small tensor
            List<Tensor> flats = List.of(randn(300 + rank, 10_000), torch.arange(new org.bytedeco.pytorch.Scalar(5))
                    .to(torch.ScalarType.Float).mul(new org.bytedeco.pytorch.Scalar(rank + 1.0)));
            List<Tensor> expected = new ArrayList<>();
            expected.add(randn(300, 10_000).add(randn(301, 10_000)).div(new org.bytedeco.pytorch.Scalar(2.0)));
            expected.add(torch.arange(new org.bytedeco.pytorch.Scalar(5)).to(torch.ScalarType.Float)
                    .mul(new org.bytedeco.pytorch.Scalar(1.5)));
            group.allReduceMean(flats, 999);
            for (int i = 0; i < 2; i++) {
                check(torch.equal(flats.get(i), expected.get(i)), "all-reduce mean of tensor " + i + " equals the local mean");
            }
            System.out.println("OK allReduceMean");

            // distributed norm: shards of both ranks plus one replicated tensor vs the single-process norm
            List<Tensor> local = List.of(randn(400 + rank, 50), randn(500 + rank, 7, 3), randn(600, 11).mul(
                    new org.bytedeco.pytorch.Scalar(3.0)));
            List<Tensor> all = List.of(randn(400, 50), randn(500, 7, 3), randn(401, 50), randn(501, 7, 3),
                    randn(600, 11).mul(new org.bytedeco.pytorch.Scalar(3.0)));
            for (double p : new double[] {1, 2, 3, Double.POSITIVE_INFINITY}) {
                double got = DistributedNorm.totalNorm(group, local, p, List.of(false, false, true)).item_double();
                double want = ClipGrad.getTotalNorm(all, p, false).item_double();
                check(Math.abs(got - want) <= 1e-5 * want, "p=" + p + " distributed " + got + " vs single-process " + want);
                System.out.println("OK norm p=" + p + " " + got + " " + want);
            }

            // unanimous decisions
            check(!group.allTrue(rank == 0), "allTrue is false when one rank says false");
            check(group.allTrue(true), "allTrue when all say true");
            check(group.anyTrue(rank == 1), "anyTrue when one rank says true");
            check(!group.anyTrue(false), "anyTrue is false when none says true");
            System.out.println("OK agree");
            group.barrier();
            System.out.println("OK barrier");
        }
    }

    /**
     * Three steps of data-parallel SGD on a linear model, rank-seeded data: gradients synchronized through a
     * GradBuffer (steps 0, 1) and through Parameters (step 2). Each rank also trains a local reference on
     * both ranks' batches concatenated (same mean loss) and checks that the parameters match it.
     */
    private static void dataParallel(DistEnv env) {
        org.bytedeco.pytorch.Scalar lr = new org.bytedeco.pytorch.Scalar(0.1);
        try (DataParallel dp = DataParallel.init(env, Duration.ofSeconds(30))) {
            Parameters params = Parameters.of(List.of("w", "b"), List.of(
                    randn(10 + dp.rank(), 3, 4).set_requires_grad(true), randn(20 + dp.rank(), 3).set_requires_grad(true)));
            Parameters reference = Parameters.of(List.of("w", "b"), List.of(
                    randn(10, 3, 4).set_requires_grad(true), randn(20, 3).set_requires_grad(true)));
            dp.broadcast(params);
            dev.gradguard.clip.GradBuffer buffer = dev.gradguard.clip.GradBuffer.bind(params);
            for (int step = 0; step < 3; step++) {
                Tensor[] x = new Tensor[2];
                Tensor[] y = new Tensor[2];
                for (int r = 0; r < 2; r++) {
                    x[r] = randn(DataSharding.seedFor(7, r) + step, 8, 4);
                    y[r] = randn(DataSharding.seedFor(9, r) + step, 8, 3);
                }
                buffer.zero();
                torch.mse_loss(x[dp.rank()].matmul(params.get(0).t()).add(params.get(1)), y[dp.rank()]).backward();
                if (step < 2) {
                    dp.synchronize(buffer);
                } else {
                    dp.synchronize(params);
                }
                double norm = buffer.totalNorm(2).item_double();
                List<String> norms = dp.gatherChecksums(Double.toString(norm));
                check(norms.get(0).equals(norms.get(1)), "same gradient norm on both ranks: " + norms);
                check(dp.agreeAll(true), "agree");

                for (Tensor p : reference) {
                    if (p.grad().defined()) {
                        p.grad().zero_();
                    }
                }
                torch.mse_loss(torch.cat(new org.bytedeco.pytorch.TensorVector(x)).matmul(reference.get(0).t())
                        .add(reference.get(1)), torch.cat(new org.bytedeco.pytorch.TensorVector(y))).backward();
                try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
                    for (int i = 0; i < 2; i++) {
                        params.get(i).sub_(params.get(i).grad().mul(lr));
                        reference.get(i).sub_(reference.get(i).grad().mul(lr));
                    }
                }
            }
            List<String> sums = dp.gatherChecksums(params.checksum());
            check(sums.get(0).equals(sums.get(1)), "bit-identical parameters on both ranks: " + sums);
            for (int i = 0; i < 2; i++) {
                check(torch.allclose(params.get(i), reference.get(i), 1e-5, 1e-6, false),
                        "data-parallel parameters equal the full-batch reference");
            }
            System.out.println("OK data-parallel " + sums.get(0));
        }
    }

    /**
     * Four steps of data-parallel SGD on a 3-layer linear model through DDP's Reducer, gradients bound into a
     * STRICT GradBuffer: steps 0 and 1 with one micro-batch, steps 2 and 3 with two (only the second
     * syncs). Checks after the first micro-batch that nothing was averaged, after each step that the buffer's
     * views still hold the averaged gradients and that the parameters equal a full-batch reference.
     */
    private static void reducer(DistEnv env) {
        org.bytedeco.pytorch.Scalar lr = new org.bytedeco.pytorch.Scalar(0.05);
        long[][] shapes = {{256, 64}, {1100, 256}, {3, 1100}};
        try (DataParallel dp = DataParallel.init(env, Duration.ofSeconds(30))) {
            List<Tensor> mine = new ArrayList<>();
            List<Tensor> ref = new ArrayList<>();
            for (int i = 0; i < shapes.length; i++) {
                mine.add(randn(30 + i + 100L * dp.rank(), shapes[i]).mul(new org.bytedeco.pytorch.Scalar(0.05)).set_requires_grad(true));
                ref.add(randn(30 + i, shapes[i]).mul(new org.bytedeco.pytorch.Scalar(0.05)).set_requires_grad(true));
            }
            Parameters params = Parameters.of(List.of("w1", "w2", "w3"), mine);
            Parameters reference = Parameters.of(List.of("w1", "w2", "w3"), ref);
            dp.broadcast(params);
            dev.gradguard.clip.GradBuffer buffer = dev.gradguard.clip.GradBuffer.bind(params,
                    dev.gradguard.clip.GradBuffer.Mode.STRICT);
            dp.useGradSync(GradSync.REDUCER, params);
            check(dp.reducerBuckets() == 2, "2 buckets (1 MiB first), got " + dp.reducerBuckets());
            for (int step = 0; step < 4; step++) {
                int micro = step < 2 ? 1 : 2;
                buffer.zero();
                List<Tensor> xs = new ArrayList<>();
                List<Tensor> ys = new ArrayList<>();
                for (int m = 0; m < micro; m++) {
                    boolean syncs = m == micro - 1;
                    for (int r = 0; r < 2; r++) {
                        Tensor x = randn(DataSharding.seedFor(7, r) + 10L * step + m, 8, 64);
                        Tensor y = randn(DataSharding.seedFor(9, r) + 10L * step + m, 8, 3);
                        xs.add(x);
                        ys.add(y);
                        if (r == dp.rank()) {
                            dp.beforeForward(syncs);
                            Tensor loss = torch.mse_loss(forward(params, x), y).div(new org.bytedeco.pytorch.Scalar((double) micro));
                            dp.beforeBackward(syncs);
                            loss.backward();
                        }
                    }
                    if (!syncs) {
                        List<String> local = dp.gatherChecksums(Double.toString(buffer.totalNorm(2).item_double()));
                        check(!local.get(0).equals(local.get(1)), "a micro-batch that does not sync keeps local gradients");
                    }
                }
                dp.synchronize(buffer); // a no-op under the Reducer
                double viaBuffer = buffer.totalNorm(2).item_double();
                List<Tensor> grads = new ArrayList<>();
                for (Tensor p : params) {
                    grads.add(p.grad());
                }
                double viaGrads = ClipGrad.getTotalNorm(grads, 2, false).item_double();
                check(Math.abs(viaBuffer - viaGrads) <= 1e-5 * viaGrads, "the buffer's views hold the averaged gradients: " + viaBuffer + " vs " + viaGrads);
                List<String> norms = dp.gatherChecksums(Double.toString(viaBuffer));
                check(norms.get(0).equals(norms.get(1)), "same gradient norm on both ranks: " + norms);

                for (Tensor p : reference) {
                    if (p.grad().defined()) {
                        p.grad().zero_();
                    }
                }
                torch.mse_loss(forward(reference, torch.cat(new org.bytedeco.pytorch.TensorVector(xs.toArray(new Tensor[0])))),
                        torch.cat(new org.bytedeco.pytorch.TensorVector(ys.toArray(new Tensor[0])))).backward();
                try (org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
                    for (int i = 0; i < shapes.length; i++) {
                        params.get(i).sub_(params.get(i).grad().mul(lr));
                        reference.get(i).sub_(reference.get(i).grad().mul(lr));
                    }
                }
            }
            check(buffer.rebinds() == 0, "the gradients stayed views into the buffer");
            List<String> sums = dp.gatherChecksums(params.checksum());
            check(sums.get(0).equals(sums.get(1)), "bit-identical parameters on both ranks: " + sums);
            for (int i = 0; i < shapes.length; i++) {
                check(torch.allclose(params.get(i), reference.get(i), 1e-5, 1e-6, false),
                        "Reducer parameters equal the full-batch reference (" + params.name(i) + ")");
            }
            System.out.println("OK reducer " + sums.get(0));
        }
    }

    /** A parameter without a gradient under the Reducer: a clear error at the step itself. */
    private static void reducerUnused(DistEnv env) {
        try (DataParallel dp = DataParallel.init(env, Duration.ofSeconds(30))) {
            Parameters params = Parameters.of(List.of("used", "unused"),
                    List.of(torch.ones(3).set_requires_grad(true), torch.ones(3).set_requires_grad(true)));
            dp.useGradSync(GradSync.REDUCER, params);
            dp.beforeForward(true);
            Tensor loss = params.get(0).mul(torch.ones(3)).sum();
            dp.beforeBackward(true);
            loss.backward();
            try {
                dp.synchronize(params);
                System.out.println("NO_ERROR");
            } catch (IllegalStateException e) {
                check(e.getMessage().contains("use --grad-sync flat"), e.getMessage());
                System.out.println("OK unused " + e.getMessage());
            }
        }
    }

    private static Tensor forward(Parameters p, Tensor x) {
        return x.matmul(p.get(0).t()).tanh().matmul(p.get(1).t()).tanh().matmul(p.get(2).t());
    }

    private static void peerDies(DistEnv env) throws Exception {
        try (DistGroup group = ProcessGroups.init(env, Duration.ofSeconds(5))) {
            group.barrier();
            if (env.rank() == 1) {
                Runtime.getRuntime().halt(7);
            }
            Thread.sleep(300);
            long t0 = System.nanoTime();
            try {
                group.allReduceMean(List.of(torch.ones(1000)));
                group.barrier();
                System.out.println("NO_FAILURE");
                System.exit(1);
            } catch (CollectiveException e) {
                System.out.println("FAILED_AFTER_MS " + (System.nanoTime() - t0) / 1_000_000 + " " + e.getMessage());
            }
        }
    }

    /** out = a(x), plus b(x) where the input's last column is set (read from the first row). */
    static final class Branchy extends org.bytedeco.pytorch.Module implements dev.gradguard.model.Model {
        final org.bytedeco.pytorch.LinearImpl a = register_module("a", new org.bytedeco.pytorch.LinearImpl(3, 2));
        final org.bytedeco.pytorch.LinearImpl b = register_module("b", new org.bytedeco.pytorch.LinearImpl(3, 2));

        @Override
        public org.bytedeco.pytorch.Module module() {
            return this;
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor features = x.narrow(1, 0, 3);
            Tensor out = a.forward(features);
            return x.get(0).get(3).item_double() != 0 ? out.add(b.forward(features)) : out;
        }
    }

    /** Rank {@code rank}'s batch at {@code step}: b is used by no rank at step 0, by rank 0 only at 1, by both at 2. */
    private static dev.gradguard.data.Batch branchBatch(int rank, int step) {
        boolean usesB = step == 2 || (step == 1 && rank == 0);
        Tensor x = torch.cat(new org.bytedeco.pytorch.TensorVector(randn(50 + 10L * step + rank, 4, 3),
                torch.full(new long[] {4, 1}, new org.bytedeco.pytorch.Scalar(usesB ? 1.0 : 0.0))), 1);
        return new dev.gradguard.data.Batch(x.retainReference(), randn(70 + 10L * step + rank, 4, 2).retainReference());
    }

    /**
     * Three AdamW steps of the guarded trainer on a model with a branch that a rank's batch may skip, against
     * plain libtorch with PyTorch's semantics on one process: the loss is the mean of both ranks' losses,
     * gradients are set to none before each step, so a parameter that no rank used has none and AdamW skips
     * it (as DDP with find_unused_parameters=True leaves it). Both ranks must end bit-identical, equal to the
     * reference, with b untouched after step 0.
     */
    private static void unusedBranch(DistEnv env) {
        try (DataParallel dp = DataParallel.init(env, Duration.ofSeconds(30))) {
            torch.manual_seed(3);
            Branchy model = new Branchy();
            torch.manual_seed(3);
            Branchy reference = new Branchy();
            Parameters params = Parameters.of(model);
            org.bytedeco.pytorch.Optimizer refOptimizer = dev.gradguard.optim.Optimizers.libtorch(
                    dev.gradguard.optim.OptimizerSpec.adamw(0.1).withWeightDecay(0.1),
                    Parameters.of(reference));
            int[] step = {0};
            try (dev.gradguard.train.Trainer trainer = dev.gradguard.train.Trainer.builder().model(model)
                    .data(() -> branchBatch(dp.rank(), step[0])).loss(torch::mse_loss)
                    .optimizer(dev.gradguard.optim.Optimizers.create(
                            dev.gradguard.optim.OptimizerSpec.adamw(0.1).withWeightDecay(0.1), params))
                    .schedule(dev.gradguard.optim.Schedules.constant(0.1)).dataParallel(dp).build()) {
                Tensor bBefore = params.get(2).clone();
                for (; step[0] < 3; step[0]++) {
                    trainer.step();
                    refOptimizer.zero_grad(true);
                    Tensor loss = null;
                    for (int r = 0; r < 2; r++) {
                        dev.gradguard.data.Batch batch = branchBatch(r, step[0]);
                        Tensor l = torch.mse_loss(reference.forward(batch.input()), batch.target());
                        loss = loss == null ? l : loss.add(l);
                    }
                    loss.div(new org.bytedeco.pytorch.Scalar(2.0)).backward();
                    refOptimizer.step();
                    if (step[0] == 0) {
                        check(torch.equal(params.get(2), bBefore), "b.weight untouched when no rank used it");
                    }
                    List<String> sums = dp.gatherChecksums(params.checksum());
                    check(sums.get(0).equals(sums.get(1)), "bit-identical parameters on both ranks: " + sums);
                    Parameters ref = Parameters.of(reference);
                    for (int i = 0; i < params.size(); i++) {
                        check(torch.allclose(params.get(i), ref.get(i), 1e-5, 1e-6, false),
                                "step " + step[0] + " " + params.name(i) + " equals the single-process reference");
                    }
                }
                check(!torch.equal(params.get(2), bBefore), "b.weight trained once some rank used it");
            }
            System.out.println("OK unused-branch " + params.checksum());
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.err.println("error: check failed: " + what);
            System.exit(1);
        }
    }
}
