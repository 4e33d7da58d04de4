package dev.gradguard.cli.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradguard.guard.DivergenceStop;
import org.junit.jupiter.api.Test;

class DivergenceSpecsTest {

    @Test
    void factorAndStepsBuildTheLibrarysStop() {
        DivergenceStop stop = DivergenceSpecs.parse("10:50");
        assertEquals(10.0, stop.factor());
        assertEquals(50, stop.steps());
        DivergenceStop fractional = DivergenceSpecs.parse(" 2.5:1 ");
        assertEquals(2.5, fractional.factor());
        assertEquals(1, fractional.steps());
        assertFalse(DivergenceSpecs.parse("off").enabled());
        assertFalse(DivergenceSpecs.parse("OFF").enabled());
    }

    @Test
    void malformedSpecsNameTheSpecTheProblemAndTheAllowedForms() {
        assertBad("10", "expected FACTOR:STEPS");
        assertBad("10:50:3", "expected FACTOR:STEPS");
        assertBad("x:50", "FACTOR must be a number, got 'x'");
        assertBad("1:50", "FACTOR must be a finite number > 1, got 1.0");
        assertBad("inf:50", "FACTOR must be a finite number > 1, got Infinity");
        assertBad("10:0", "STEPS must be an integer >= 1, got 0");
        assertBad("10:2.5", "STEPS must be an integer >= 1, got '2.5'");
    }

    private static void assertBad(String spec, String problem) {
        String message = assertThrows(IllegalArgumentException.class, () -> DivergenceSpecs.parse(spec)).getMessage();
        assertEquals("bad divergence-stop '" + spec + "': " + problem + "; allowed: " + DivergenceSpecs.ALLOWED, message);
    }
}
