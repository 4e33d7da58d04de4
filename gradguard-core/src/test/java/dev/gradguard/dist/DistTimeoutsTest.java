package dev.gradguard.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DistTimeoutsTest {

    @Test
    void theLauncherPassesItsTimeoutsToEveryWorker() {
        LaunchOptions o = new LaunchOptions(2, 1, 0, "127.0.0.1", 29500, 1, Duration.ofSeconds(3), List.of("train"))
                .withTimeouts(new DistTimeouts(Duration.ofSeconds(7), Duration.ofSeconds(11)));
        Map<String, String> env = Launcher.workerEnvironment(o, 1);
        assertEquals("7", env.get("GRADGUARD_RDZV_TIMEOUT"));
        assertEquals("11", env.get("GRADGUARD_COLLECTIVE_TIMEOUT"));
        assertEquals(new DistTimeouts(Duration.ofSeconds(7), Duration.ofSeconds(11)), DistTimeouts.fromMap(env));
    }

    @Test
    void unsetVariablesTakeTheDefaultsOf60And300Seconds() {
        DistTimeouts d = DistTimeouts.fromMap(Map.of());
        assertEquals(Duration.ofSeconds(60), d.rendezvous());
        assertEquals(Duration.ofSeconds(300), d.collective());
        assertEquals(d, new LaunchOptions(1, 1, 0, "127.0.0.1", 29500, 1, Duration.ofSeconds(3), List.of()).timeouts());
    }

    @Test
    void badValuesNameTheVariableOrFlag() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DistTimeouts.fromMap(Map.of("GRADGUARD_COLLECTIVE_TIMEOUT", "soon")));
        assertEquals("GRADGUARD_COLLECTIVE_TIMEOUT must be a whole number of seconds >= 1, got 'soon'", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DistTimeouts.fromMap(Map.of("GRADGUARD_RDZV_TIMEOUT", "0")));
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class,
                () -> new DistTimeouts(Duration.ZERO, Duration.ofSeconds(1)));
        assertEquals("--rdzv-timeout must be at least 1 s, got 0", zero.getMessage());
    }
}
