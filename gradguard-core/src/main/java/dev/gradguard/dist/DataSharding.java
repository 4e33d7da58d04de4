package dev.gradguard.dist;

import dev.gradguard.data.Rng;

/**
 * Gives each rank of a data-parallel job its own share of the data.
 *
 * <ul>
 *   <li>Generated (endless) data: {@link #seedFor} gives each rank its own seed, so the ranks draw
 *       independent streams; rank 0 keeps the base seed, so a one-process run sees the same data as before.</li>
 *   <li>Finite datasets: {@link #indices} is PyTorch's {@code DistributedSampler}: one permutation of the
 *       dataset per epoch (the same on every rank), padded by repeating its head to a multiple of the world
 *       size, and rank {@code r} takes positions {@code r, r + world, ...}: every sample is seen once per
 *       epoch across the ranks (padding aside), and every rank gets the same number.</li>
 * </ul>
 */
public final class DataSharding {
    private DataSharding() {
    }

    /** The data seed of {@code rank}: {@code baseSeed} for rank 0, a SplitMix64-mixed seed for the others. */
    public static long seedFor(long baseSeed, int rank) {
        if (rank < 0) {
            throw new IllegalArgumentException("rank must not be negative, got " + rank);
        }
        return rank == 0 ? baseSeed : new Rng(baseSeed ^ (0x632be59bd9b4e019L * rank)).nextLong();
    }

    /**
     * This rank's sample indices for one epoch, {@code DistributedSampler(shuffle=True, drop_last=False)}
     * semantics with a Fisher-Yates shuffle seeded by {@code seed + epoch}.
     *
     * @param datasetSize samples in the dataset, at least 1
     * @return {@code ceil(datasetSize / world)} indices in {@code [0, datasetSize)}
     */
    public static long[] indices(long datasetSize, long epoch, long seed, int rank, int worldSize) {
        if (datasetSize < 1 || datasetSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("datasetSize must be in [1, 2^31), got " + datasetSize);
        }
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank must be in [0, " + (worldSize - 1) + "], got " + rank);
        }
        int n = (int) datasetSize;
        long[] perm = new long[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        Rng rng = new Rng(seed + epoch);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            long t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int perRank = (n + worldSize - 1) / worldSize;
        long[] mine = new long[perRank];
        for (int k = 0; k < perRank; k++) {
            mine[k] = perm[(rank + k * worldSize) % n];
        }
        return mine;
    }
}
