package dev.gradguard.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class RequestPathTest {

    @Test
    void plainPathsSplitIntoDecodedSegments() throws RequestPath.BadPathException {
        assertEquals(List.of(), RequestPath.segments("/"));
        assertEquals(List.of("run", "a"), RequestPath.segments("/run/a"));
        assertEquals(List.of("run", "a"), RequestPath.segments("/run/a/"));
        assertEquals(List.of("run", "my run"), RequestPath.segments("/run/my%20run"));
        assertEquals(List.of("run", "été"), RequestPath.segments("/run/%C3%A9t%C3%A9"));
        assertEquals(List.of("run", "a.b-c_d"), RequestPath.segments("/run/a.b-c_d"));
        assertEquals(List.of("run", "...x"), RequestPath.segments("/run/...x"), "dots within a name are a name");
    }

    @Test
    void anythingThatCouldLeaveTheDirectoryIsRefused() {
        for (String bad : List.of("", "run", "/..", "/run/..", "/run/.", "/run/../x", "/run/%2e%2e", "/run/%2E%2e",
                "/run/.%2e", "/run/a%2fb", "/run/a%2Fb", "/run/a%5cb", "/run/a\\b", "//etc", "/run//a", "/run/a%00",
                "/run/a%0a", "/run/%zz", "/run/%4", "/run/%c3", "/run/a b", "/run/\u00e9")) {
            assertThrows(RequestPath.BadPathException.class, () -> RequestPath.segments(bad), bad);
        }
    }
}
