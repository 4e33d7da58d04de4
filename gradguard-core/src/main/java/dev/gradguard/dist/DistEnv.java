package dev.gradguard.dist;

import java.util.Map;
import java.util.Objects;

/**
 * Where this process sits in a data-parallel job, read from torchrun's environment variables (which
 * {@link Launcher} sets): {@code RANK}, {@code WORLD_SIZE}, {@code LOCAL_RANK}, {@code LOCAL_WORLD_SIZE},
 * {@code MASTER_ADDR}, {@code MASTER_PORT}.
 *
 * @param rank this process's global rank, {@code 0 <= rank < worldSize}
 * @param worldSize the number of processes in the job
 * @param localRank the rank on this node
 * @param localWorldSize the processes on this node
 * @param masterAddr the host of rank 0, which serves the rendezvous store
 * @param masterPort the store's port
 */
public record DistEnv(int rank, int worldSize, int localRank, int localWorldSize, String masterAddr, int masterPort) {
    public static final String RANK = "RANK";
    public static final String WORLD_SIZE = "WORLD_SIZE";
    public static final String LOCAL_RANK = "LOCAL_RANK";
    public static final String LOCAL_WORLD_SIZE = "LOCAL_WORLD_SIZE";
    public static final String MASTER_ADDR = "MASTER_ADDR";
    public static final String MASTER_PORT = "MASTER_PORT";

    public DistEnv {
        Objects.requireNonNull(masterAddr, "masterAddr");
        if (worldSize < 1) {
            throw new IllegalArgumentException(WORLD_SIZE + " must be at least 1, got " + worldSize);
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException(RANK + " must be in [0, " + (worldSize - 1) + "], got " + rank);
        }
        if (localWorldSize < 1 || localWorldSize > worldSize) {
            throw new IllegalArgumentException(LOCAL_WORLD_SIZE + " must be in [1, " + worldSize + "], got " + localWorldSize);
        }
        if (localRank < 0 || localRank >= localWorldSize) {
            throw new IllegalArgumentException(LOCAL_RANK + " must be in [0, " + (localWorldSize - 1) + "], got " + localRank);
        }
        if (masterPort < 1 || masterPort > 65535) {
            throw new IllegalArgumentException(MASTER_PORT + " must be in [1, 65535], got " + masterPort);
        }
        if (masterAddr.isBlank()) {
            throw new IllegalArgumentException(MASTER_ADDR + " must not be empty");
        }
    }

    /** A one-process job (rank 0 of 1) on loopback, for code paths that run with or without a launcher. */
    public static DistEnv single() {
        return new DistEnv(0, 1, 0, 1, LaunchOptions.DEFAULT_MASTER_ADDR, LaunchOptions.DEFAULT_MASTER_PORT);
    }

    /**
     * This process's place, from {@link System#getenv()}.
     *
     * @throws IllegalArgumentException naming the variable when one is missing or invalid
     */
    public static DistEnv fromEnvironment() {
        return fromMap(System.getenv());
    }

    /** Whether the environment holds a launcher's variables ({@code RANK} and {@code WORLD_SIZE} are set). */
    public static boolean isLaunched(Map<String, String> env) {
        return env.containsKey(RANK) && env.containsKey(WORLD_SIZE);
    }

    /**
     * Reads the variables from {@code env}. {@code LOCAL_RANK} defaults to {@code RANK}, {@code LOCAL_WORLD_SIZE}
     * to {@code WORLD_SIZE}, {@code MASTER_ADDR} to 127.0.0.1 and {@code MASTER_PORT} to 29500, as in torchrun.
     *
     * @throws IllegalArgumentException naming the variable when one is missing or invalid
     */
    public static DistEnv fromMap(Map<String, String> env) {
        int rank = required(env, RANK);
        int world = required(env, WORLD_SIZE);
        int localRank = optional(env, LOCAL_RANK, rank);
        int localWorld = optional(env, LOCAL_WORLD_SIZE, world);
        String addr = env.getOrDefault(MASTER_ADDR, LaunchOptions.DEFAULT_MASTER_ADDR);
        int port = optional(env, MASTER_PORT, LaunchOptions.DEFAULT_MASTER_PORT);
        return new DistEnv(rank, world, localRank, localWorld, addr, port);
    }

    public boolean isMain() {
        return rank == 0;
    }

    private static int required(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null) {
            throw new IllegalArgumentException(name + " is not set: start distributed workers with 'gradguard launch'"
                    + " (or set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)");
        }
        return parse(name, v);
    }

    private static int optional(Map<String, String> env, String name, int fallback) {
        String v = env.get(name);
        return v == null ? fallback : parse(name, v);
    }

    private static int parse(String name, String v) {
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer, got '" + v + "'");
        }
    }
}
