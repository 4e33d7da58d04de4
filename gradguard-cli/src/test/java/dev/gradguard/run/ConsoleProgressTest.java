package dev.gradguard.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.guard.Skip;
import dev.gradguard.guard.SkipReason;
import dev.gradguard.train.StepResult;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConsoleProgressTest {

    private static StepResult step(long i, boolean clipped, boolean skipped) {
        return new StepResult(i, 0.25, 0.1, new StepResult.Gradients(3.5, clipped ? 1.0 : 3.5, clipped, clipped ? 1 / 3.5 : 1.0),
                skipped ? Optional.of(new Skip(SkipReason.NON_FINITE_LOSS, "loss is NaN")) : Optional.empty(),
                Optional.empty(), StepResult.Diagnostics.none(), 12.0);
    }

    @Test
    void aLogGetsPlainLinesAtTheIntervalWithClipRateSkippedAndEta() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        AtomicLong clock = new AtomicLong(0);
        ConsoleProgress p = new ConsoleProgress(new PrintStream(buf, true, StandardCharsets.UTF_8), false,
                1_000_000_000L, clock::get);
        p.onTrainStart(null, 100);
        for (int i = 0; i < 10; i++) {
            clock.addAndGet(200_000_000L); // 0.2 s per step
            p.onStep(step(i, i % 2 == 0, i == 3));
        }
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals("step 3 skipped: loss is NaN", lines[0]);
        assertEquals(3, lines.length, String.join("\n", lines));
        // after 5 steps (1.0 s): 3 of 5 clipped, 1 skipped, 95 steps left at 0.2 s each
        assertEquals("step 5/100   5% | loss 0.2500 | grad 3.50 | clip 60% | lr 0.100 | skipped 1 | ETA 0:19", lines[1]);
        assertEquals("step 10/100  10% | loss 0.2500 | grad 3.50 | clip 50% | lr 0.100 | skipped 1 | ETA 0:18", lines[2]);
    }

    @Test
    void aTerminalGetsABarRedrawnInPlace() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        AtomicLong clock = new AtomicLong(0);
        ConsoleProgress p = new ConsoleProgress(new PrintStream(buf, true, StandardCharsets.UTF_8), true,
                100_000_000L, clock::get);
        p.onTrainStart(null, 4);
        for (int i = 0; i < 4; i++) {
            clock.addAndGet(100_000_000L);
            p.onStep(step(i, false, false));
        }
        p.onTrainEnd(null);
        String out = buf.toString(StandardCharsets.UTF_8);
        assertTrue(out.startsWith("\r[######------------------] step 1/4  25%"), out.replace("\r", "<CR>").replace("\u001b", "<ESC>"));
        assertTrue(out.endsWith("\r[########################] step 4/4 100% | loss 0.2500 | grad 3.50 | clip 0% | lr 0.100 | skipped 0 | ETA 0:00\u001b[K\n"), out);
    }

    @Test
    void durationsReadLikeClocks() {
        assertEquals("0:07", ConsoleProgress.duration(7.4));
        assertEquals("2:05", ConsoleProgress.duration(125));
        assertEquals("1:01:01", ConsoleProgress.duration(3661));
        assertEquals("--:--", ConsoleProgress.duration(Double.NaN));
    }
}
