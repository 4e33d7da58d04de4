package dev.gradguard.dist;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How long a data-parallel worker waits for its peers: at the rendezvous (every rank joining the process
 * group, through the store on the master) and in each collective (an all-reduce, a broadcast) after that.
 * {@link Launcher} passes them to its workers in {@value #RENDEZVOUS_ENV} and {@value #COLLECTIVE_ENV}
 * (whole seconds).
 *
 * @param rendezvous the longest wait for all ranks to join, positive
 * @param collective the longest wait for the peers in one collective, positive
 */
public record DistTimeouts(Duration rendezvous, Duration collective) {
    /** The environment variable of the rendezvous timeout, in seconds. */
    public static final String RENDEZVOUS_ENV = "GRADGUARD_RDZV_TIMEOUT";
    /** The environment variable of the collective timeout, in seconds. */
    public static final String COLLECTIVE_ENV = "GRADGUARD_COLLECTIVE_TIMEOUT";
    /** 60 s: long enough for every worker JVM to start and load libtorch on a busy machine. */
    public static final Duration DEFAULT_RENDEZVOUS = Duration.ofSeconds(60);
    /** 300 s: a tenth of PyTorch's {@code default_pg_timeout} (30 minutes), still far above any step of a CPU job. */
    public static final Duration DEFAULT_COLLECTIVE = Duration.ofSeconds(300);

    /** @throws IllegalArgumentException when a timeout is not positive */
    public DistTimeouts {
        Objects.requireNonNull(rendezvous, "rendezvous");
        Objects.requireNonNull(collective, "collective");
        if (rendezvous.isNegative() || rendezvous.isZero()) {
            throw new IllegalArgumentException("--rdzv-timeout must be at least 1 s, got " + rendezvous.toSeconds());
        }
        if (collective.isNegative() || collective.isZero()) {
            throw new IllegalArgumentException("--collective-timeout must be at least 1 s, got " + collective.toSeconds());
        }
    }

    /** {@link #DEFAULT_RENDEZVOUS} and {@link #DEFAULT_COLLECTIVE}. */
    public static DistTimeouts defaults() {
        return new DistTimeouts(DEFAULT_RENDEZVOUS, DEFAULT_COLLECTIVE);
    }

    /** The same {@code timeout} for both. */
    public static DistTimeouts both(Duration timeout) {
        return new DistTimeouts(timeout, timeout);
    }

    /**
     * The timeouts in {@code env}; a variable that is not set takes its default.
     *
     * @throws IllegalArgumentException naming the variable when one is not a whole number of seconds >= 1
     */
    public static DistTimeouts fromMap(Map<String, String> env) {
        return new DistTimeouts(seconds(env, RENDEZVOUS_ENV, DEFAULT_RENDEZVOUS), seconds(env, COLLECTIVE_ENV, DEFAULT_COLLECTIVE));
    }

    /** The variables a worker gets for these timeouts. */
    public Map<String, String> environment() {
        return Map.of(RENDEZVOUS_ENV, Long.toString(rendezvous.toSeconds()), COLLECTIVE_ENV,
                Long.toString(collective.toSeconds()));
    }

    private static Duration seconds(Map<String, String> env, String name, Duration fallback) {
        String v = env.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            long s = Long.parseLong(v.trim());
            if (s >= 1) {
                return Duration.ofSeconds(s);
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException(name + " must be a whole number of seconds >= 1, got '" + v + "'");
    }
}
