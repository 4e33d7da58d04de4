package dev.gradguard.cli;

import dev.gradguard.report.HtmlReport;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code gradguard report}: a self-contained HTML report of a run or a comparison. */
@Command(name = "report",
        header = "Write a self-contained HTML report of a run or a comparison.", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Write a self-contained HTML report (it opens offline: charts inline as SVG, nothing fetched) of a "
            + "train run directory (loss, gradient norms before and after clipping with the threshold, clip rate, "
            + "learning rate, skipped steps, a per-layer gradient-norm heat map, the summary) or of a compare "
            + "directory (the policies' curves overlaid, the aggregated table). A PNG copy of each chart is "
            + "written beside it as <report>-<chart>.png."},
        footer = {"", "Exit codes: 0 written, 2 not a run or compare directory, or a bad --out."})
public final class ReportCommand implements Callable<Integer> {
    @Parameters(paramLabel = "DIR", description = "a run directory (has metrics.jsonl) or a compare directory (has compare.json)")
    Path dir;
    @Option(names = "--out", paramLabel = "FILE", description = "the HTML file (default: DIR/report.html)")
    Path out;
    @Option(names = "--debug", description = "show stack traces of errors")
    boolean debug;

    @Override
    public Integer call() throws Exception {
        HtmlReport.Written written = HtmlReport.write(dir, out != null ? out : HtmlReport.defaultFile(dir));
        System.out.println("Wrote " + written.html() + " and " + written.images().size() + " PNG chart(s) beside it");
        return ExitCodes.OK;
    }
}
