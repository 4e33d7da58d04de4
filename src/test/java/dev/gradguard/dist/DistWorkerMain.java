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

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.err.println("error: check failed: " + what);
            System.exit(1);
        }
    }
}
