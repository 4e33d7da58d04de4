package dev.gradguard.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LaunchCommandTest {
    @Test
    void badLaunchFlagsExitWithUsageError() {
        assertEquals(2, Main.run("launch", "--nproc-per-node", "0", "--", "train"));
        assertEquals(2, Main.run("launch", "--nproc-per-node", "2", "--nnodes", "2", "--node-rank", "2", "--", "train"));
        assertEquals(2, Main.run("launch", "--nproc-per-node", "2"));
    }
}
