package dev.gradguard.dist;

import java.util.List;

/**
 * A tiny worker for launcher tests: prints its environment, then, per argument, {@code fail-rank=K} exits 3
 * with an error line after 0.5 s when it is rank K, {@code spawn-child} starts a {@code sleep} grandchild and prints its
 * pid, {@code sleep} waits forever.
 */
public final class LaunchProbeMain {
    public static void main(String[] args) throws Exception {
        List<String> a = List.of(args);
        String rank = System.getenv("RANK");
        System.out.println("ENV RANK=" + rank + " LOCAL_RANK=" + System.getenv("LOCAL_RANK")
                + " WORLD_SIZE=" + System.getenv("WORLD_SIZE") + " LOCAL_WORLD_SIZE=" + System.getenv("LOCAL_WORLD_SIZE")
                + " MASTER_ADDR=" + System.getenv("MASTER_ADDR") + " MASTER_PORT=" + System.getenv("MASTER_PORT")
                + " GRADGUARD_THREADS=" + System.getenv("GRADGUARD_THREADS") + " ARGS=" + String.join(",", a));
        System.out.println("PID " + ProcessHandle.current().pid());
        System.err.println("a line on stderr");
        if (a.contains("spawn-child")) {
            Process child = new ProcessBuilder("sleep", "300").start();
            System.out.println("CHILD " + child.pid());
        }
        for (String arg : a) {
            if (arg.equals("fail-rank=" + rank)) {
                Thread.sleep(500); // let the launcher see the grandchild before this process abandons it
                System.err.println("error: rank " + rank + " gives up");
                System.err.println("\tat some.Frame(Probe.java:1)");
                System.exit(3);
            }
        }
        if (a.contains("sleep")) {
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
