package dev.gradguard.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

class DistEnvTest {
    @Test
    void readsTorchrunVariablesWithTorchrunDefaults() {
        assertEquals(new DistEnv(3, 4, 1, 2, "10.0.0.1", 1234), DistEnv.fromMap(Map.of("RANK", "3", "WORLD_SIZE", "4",
                "LOCAL_RANK", "1", "LOCAL_WORLD_SIZE", "2", "MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "1234")));
        assertEquals(new DistEnv(1, 2, 1, 2, "127.0.0.1", 29500), DistEnv.fromMap(Map.of("RANK", "1", "WORLD_SIZE", "2")));
    }

    @Test
    void namesTheBadVariable() {
        assertEquals("RANK is not set: start distributed workers with 'gradguard launch' (or set RANK, WORLD_SIZE,"
                + " MASTER_ADDR and MASTER_PORT)",
                assertThrows(IllegalArgumentException.class, () -> DistEnv.fromMap(Map.of("WORLD_SIZE", "2"))).getMessage());
        assertEquals("RANK must be in [0, 1], got 2", assertThrows(IllegalArgumentException.class,
                () -> DistEnv.fromMap(Map.of("RANK", "2", "WORLD_SIZE", "2"))).getMessage());
        assertEquals("MASTER_PORT must be an integer, got 'x'", assertThrows(IllegalArgumentException.class,
                () -> DistEnv.fromMap(Map.of("RANK", "0", "WORLD_SIZE", "2", "MASTER_PORT", "x"))).getMessage());
    }
}
