package dev.gradguard.cli;

import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Shows the library's log messages (the {@code dev.gradguard} System.Loggers, which go to java.util.logging) on
 * standard error as {@code gradguard: <message>} lines, one per message, information and above. The handler
 * writes to whatever {@code System.err} is when a message arrives.
 */
final class ConsoleLog extends Handler {
    private static final Logger ROOT = Logger.getLogger("dev.gradguard");

    private ConsoleLog() {
        setLevel(Level.INFO);
    }

    /** Routes the library's loggers here once per JVM (a second call changes nothing). */
    static synchronized void install() {
        for (Handler h : ROOT.getHandlers()) {
            if (h instanceof ConsoleLog) {
                return;
            }
        }
        ROOT.setUseParentHandlers(false);
        ROOT.setLevel(Level.INFO);
        ROOT.addHandler(new ConsoleLog());
    }

    @Override
    public void publish(LogRecord record) {
        if (isLoggable(record)) {
            System.err.println("gradguard: " + record.getMessage());
            System.err.flush();
        }
    }

    @Override
    public void flush() {
        System.err.flush();
    }

    @Override
    public void close() {
    }
}
