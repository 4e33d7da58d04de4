package dev.gradguard.report;

import dev.gradguard.io.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code gradguard report}: one self-contained HTML file for a run or a comparison directory. Everything
 * is inline (charts as SVG, the style sheet); the page loads no script, font, style or image from
 * anywhere, so it opens offline. A PNG copy of each chart is written beside it, named
 * {@code <report>-<chart>.png} ({@code report-loss.png} for the default {@code report.html}).
 *
 * <p>Only report files are ever written: an existing file at the HTML path is replaced only when it is a
 * gradguard report itself, and the PNG copies only carry the report's own name.
 */
public final class HtmlReport {
    /** Written in every report's head; a file that has it may be replaced by a new report. */
    static final String GENERATOR = "<meta name=\"generator\" content=\"gradguard report\">";

    private HtmlReport() {
    }

    /** What was written. */
    public record Written(Path html, List<Path> images) {
        public Written {
            images = List.copyOf(images);
        }
    }

    /** The default report file of a run or compare directory: {@code <dir>/report.html}. */
    public static Path defaultFile(Path dir) {
        return dir.resolve("report.html");
    }

    /**
     * Writes the report of {@code dir}, a run directory (it has {@code metrics.jsonl}) or a compare
     * directory (it has {@code compare.json}), to {@code html}, and the PNG copies beside it.
     *
     * @throws IllegalArgumentException when {@code dir} is neither kind of directory, {@code html} does not
     *     end in {@code .html}, {@code html} exists and is not a gradguard report, or a chart's file exists
     *     beside an {@code html} that does not (a user's file); the message names what is missing or wrong
     * @throws IOException when a file cannot be read or written
     */
    public static Written write(Path dir, Path html) throws IOException {
        ReportPage page = build(dir);
        String name = html.getFileName().toString();
        if (!name.toLowerCase(Locale.ROOT).endsWith(".html")) {
            throw new IllegalArgumentException("--out " + html + " must name an .html file");
        }
        boolean earlierReport = Files.exists(html, LinkOption.NOFOLLOW_LINKS);
        if (earlierReport && !isReport(html)) {
            throw new IllegalArgumentException("--out " + html + " already exists and is not a gradguard report;"
                    + " choose another --out");
        }
        Path parent = html.toAbsolutePath().getParent();
        String base = name.substring(0, name.length() - ".html".length());
        List<Path> images = new ArrayList<>();
        for (Figure f : page.figures()) {
            images.add(parent.resolve(base + "-" + f.name() + ".png"));
        }
        // the charts beside an earlier report are that report's; beside no report, they are somebody else's
        for (Path png : images) {
            if (!earlierReport && Files.exists(png, LinkOption.NOFOLLOW_LINKS)) {
                throw new IllegalArgumentException("--out " + html + " would write its chart " + png.getFileName()
                        + " beside it, and " + png + " already exists; choose another --out");
            }
        }
        Files.createDirectories(parent);
        for (int i = 0; i < images.size(); i++) {
            page.figures().get(i).savePng(images.get(i));
        }
        AtomicFiles.writeString(html, render(page));
        return new Written(html, images);
    }

    /**
     * The page of {@code dir}, a compare directory when it has {@code compare.json}, else a run directory.
     *
     * @throws IllegalArgumentException when {@code dir} is neither
     */
    public static ReportPage build(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + " is not a directory");
        }
        if (Files.exists(dir.resolve("compare.json"))) {
            return ComparisonPage.build(dir);
        }
        if (Files.exists(dir.resolve("metrics.jsonl"))) {
            return RunReport.build(dir);
        }
        throw new IllegalArgumentException(dir + " is not a run or compare directory: it has no metrics.jsonl"
                + " (a train run) and no compare.json (a comparison)");
    }

    /** The whole HTML document. */
    public static String render(ReportPage page) {
        StringBuilder s = new StringBuilder(1 << 16);
        s.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n").append(GENERATOR).append('\n')
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>").append(Html.escape(page.title())).append("</title>\n")
                .append("<style>\n").append(Html.STYLE).append("</style>\n</head>\n<body>\n")
                .append("<h1>").append(Html.escape(page.title())).append("</h1>\n")
                .append("<p>").append(page.subtitle()).append("</p>\n<nav>");
        for (ReportPage.Section section : page.sections()) {
            s.append("<a href=\"#").append(section.id()).append("\">").append(Html.escape(section.heading())).append("</a>");
        }
        s.append("</nav>\n");
        for (ReportPage.Section section : page.sections()) {
            s.append("<section id=\"").append(section.id()).append("\">\n<h2>").append(Html.escape(section.heading()))
                    .append("</h2>\n");
            section.figure().ifPresent(f -> s.append(f.svg()).append('\n'));
            s.append(section.html()).append("</section>\n");
        }
        return s.append("</body>\n</html>\n").toString();
    }

    /** Whether {@code file} begins as a gradguard report does. */
    private static boolean isReport(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return false;
        }
        try (InputStream in = Files.newInputStream(file)) {
            return new String(in.readNBytes(512), StandardCharsets.UTF_8).contains(GENERATOR);
        }
    }
}
