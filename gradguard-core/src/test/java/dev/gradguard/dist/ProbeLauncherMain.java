package dev.gradguard.dist;

import java.time.Duration;
import java.util.Arrays;

/** Runs a {@link Launcher} of {@link LaunchProbeMain} workers: {@code <nproc> <probe args...>}; exits with its code. */
public final class ProbeLauncherMain {
    public static void main(String[] args) throws Exception {
        LaunchOptions o = LaunchOptions.local(Integer.parseInt(args[0]), Arrays.asList(args).subList(1, args.length))
                .withStopTimeout(Duration.ofSeconds(3));
        LaunchResult r = new Launcher(o, LaunchProbeMain.class.getName(), System.getProperty("java.class.path"),
                System.out, System.err).run();
        System.exit(r.exitCode());
    }
}
