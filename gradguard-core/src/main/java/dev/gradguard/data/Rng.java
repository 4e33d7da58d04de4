package dev.gradguard.data;

import dev.gradguard.state.StateMaps;
import dev.gradguard.state.Stateful;
import java.util.Map;

/**
 * A small, fast, seedable random generator whose whole state is one {@code long}, so that data
 * generation can be checkpointed and resumed exactly. The algorithm is SplitMix64 (Steele, Lea and
 * Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014), the generator behind
 * {@code java.util.SplittableRandom}. Not thread-safe.
 */
public final class Rng implements Stateful {
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
    private long state;

    public Rng(long seed) {
        this.state = seed;
    }

    /** A uniformly distributed 64-bit value. */
    public long nextLong() {
        long z = (state += GOLDEN_GAMMA);
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1). */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [0, bound), {@code bound > 0}. */
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        return (int) Math.floorMod(nextLong(), (long) bound);
    }

    /** Uniform in [origin, bound). */
    public int nextInt(int origin, int bound) {
        return origin + nextInt(bound - origin);
    }

    /** A standard normal sample (Box-Muller; one of the pair is discarded to keep the state a single long). */
    public double nextGaussian() {
        double u1 = 1.0 - nextDouble();
        double u2 = nextDouble();
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2);
    }

    @Override
    public Map<String, Object> stateDict() {
        return Map.of("state", state);
    }

    @Override
    public void loadStateDict(Map<String, Object> s) {
        state = StateMaps.getLong(s, "state");
    }
}
