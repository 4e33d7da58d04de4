package dev.gradguard.testing;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Captures {@code System.out} and {@code System.err} during each test, as UTF-8 text, so that a test can
 * assert what a command printed. Register it on an instance field:
 *
 * <pre>{@code @RegisterExtension final ConsoleCapture console = new ConsoleCapture();}</pre>
 *
 * <p>Capture starts before the test's {@code @BeforeEach} methods and ends after its {@code @AfterEach}
 * methods; the streams that were set before the test are put back after every test, whether it passed or
 * failed.
 */
public final class ConsoleCapture implements BeforeEachCallback, AfterEachCallback {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream previousOut;
    private PrintStream previousErr;

    @Override
    public void beforeEach(ExtensionContext context) {
        previousOut = System.out;
        previousErr = System.err;
        reset();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Override
    public void afterEach(ExtensionContext context) {
        System.setOut(previousOut);
        System.setErr(previousErr);
    }

    /** Returns what was printed to standard output since the test began or since the last {@link #reset()}. */
    public String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Returns what was printed to standard error since the test began or since the last {@link #reset()}. */
    public String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** Forgets what both streams have captured so far; what is printed afterwards is still captured. */
    public void reset() {
        out.reset();
        err.reset();
    }
}
