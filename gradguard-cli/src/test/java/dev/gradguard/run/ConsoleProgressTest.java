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
                Integer.MAX_VALUE, 1_000_000_000L, clock::get);
        p.onTrainStart(null, 100);
        for (int i = 0; i < 10; i++) {
            clock.addAndGet(200_000_000L); // 0.2 s per step
            p.onStep(step(i, i % 2 == 0, i == 3));
        }
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals("step 3 skipped: loss is NaN", lines[0]);
        assertEquals(3, lines.length, String.join("\n", lines));
        // after 5 steps (1.0 s): 3 of 5 clipped, 1 skipped, 95 steps left at 0.2 s each, 5 steps a second
        assertEquals("  5% done 5/100 | loss 0.2500 | 00:01<00:19 | grad 3.50 | clip 60% | skipped 1 | 5.00 it/s | lr 0.100",
                lines[1]);
        assertEquals(" 10% done 10/100 | loss 0.2500 | 00:02<00:18 | grad 3.50 | clip 50% | skipped 1 | 5.00 it/s | lr 0.100",
                lines[2]);
    }

    @Test
    void aTerminalGetsABarRedrawnInPlace() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        AtomicLong clock = new AtomicLong(0);
        ConsoleProgress p = new ConsoleProgress(new PrintStream(buf, true, StandardCharsets.UTF_8), true, 120,
                100_000_000L, clock::get);
        p.onTrainStart(null, 4);
        for (int i = 0; i < 4; i++) {
            clock.addAndGet(100_000_000L);
            p.onStep(step(i, false, false));
        }
        p.onTrainEnd(null);
        String out = buf.toString(StandardCharsets.UTF_8);
        String shown = out.replace("\r", "<CR>").replace("\u001b", "<ESC>");
        // 120 columns: every field, and the bar takes the rest (21 columns), a quarter filled after 1 of 4 steps
        assertTrue(out.startsWith("\r 25%|#####                | done 1/4 | loss 0.2500 | 00:00<00:00 |"), shown);
        assertTrue(out.endsWith("\r100%|#####################| done 4/4 | loss 0.2500 | 00:00<00:00 | grad 3.50 | "
                + "clip 0% | skipped 0 | 10 it/s | lr 0.100\u001b[K\n"), shown);
        assertTrue(out.lines().allMatch(l -> l.split("\r").length == 0
                || java.util.Arrays.stream(l.split("\r")).allMatch(part -> part.replace("\u001b[K", "").length() <= 119)), shown);
    }

    @Test
    void theStatusLineFitsTheTerminalDroppingTheLeastImportantFieldsFirst() {
        for (int width : new int[] {40, 60, 80, 100, 200}) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            AtomicLong clock = new AtomicLong(0);
            ConsoleProgress p = new ConsoleProgress(new PrintStream(buf, true, StandardCharsets.UTF_8), true, width,
                    100_000_000L, clock::get);
            p.onTrainStart(null, 1_500_000);
            p.onStep(new StepResult(0, 1.0, 1.75, new StepResult.Gradients(1.0, 1.0, false, 1.0), Optional.empty(),
                    Optional.empty(), StepResult.Diagnostics.none(), 12.0));
            clock.addAndGet(3_700_000_000_000L);
            p.onStep(new StepResult(1_234_566, 3.146e-06, 1.75, new StepResult.Gradients(9.95e-06, 9.95e-06, false, 1.0),
                    Optional.empty(), Optional.empty(), StepResult.Diagnostics.none(), 12.0));
            String line = p.line(clock.get());
            assertTrue(line.length() <= width - 1, width + ": " + line.length() + " " + line);
            assertTrue(line.contains("done 1234567/1500000"), line);
            if (width >= 80) {
                assertTrue(line.contains("loss 3.146e-06") && line.contains("1:01:40<13:16") && line.contains("|#"), line);
            }
            if (width <= 60) {
                assertTrue(!line.contains("lr 1.75"), "the learning rate goes first: " + line);
            }
        }
    }

    @Test
    void eventLinesAreRateLimitedAndSummarized() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        AtomicLong clock = new AtomicLong(0);
        ConsoleProgress p = new ConsoleProgress(new PrintStream(buf, true, StandardCharsets.UTF_8), false,
                Integer.MAX_VALUE, 1_000_000_000_000L, clock::get);
        p.onTrainStart(null, 300);
        for (int i = 0; i < 300; i++) {
            clock.addAndGet(100_000_000L); // 0.1 s a step: 30 s in all
            p.onStep(step(i, false, true));
        }
        p.onTrainEnd(null);
        java.util.List<String> lines = buf.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals("step 0 skipped: loss is NaN", lines.get(0));
        assertEquals("step 4 skipped: loss is NaN", lines.get(4));
        assertTrue(lines.get(5).startsWith("(further skipped steps are summarized every 10 s"), lines.get(5));
        assertEquals("100 more skipped steps since step 5", lines.get(6));
        assertEquals("100 more skipped steps since step 105", lines.get(7));
        assertEquals("95 more skipped steps since step 205", lines.get(8));
        assertEquals(10, lines.size(), String.join("\n", lines));
    }

    @Test
    void durationsReadLikeClocks() {
        assertEquals("00:07", ConsoleProgress.duration(7.4));
        assertEquals("02:05", ConsoleProgress.duration(125));
        assertEquals("1:01:01", ConsoleProgress.duration(3661));
        assertEquals("--:--", ConsoleProgress.duration(Double.NaN));
    }
}
