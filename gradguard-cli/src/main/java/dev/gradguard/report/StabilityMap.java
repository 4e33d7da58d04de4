package dev.gradguard.report;

import dev.gradguard.compare.Comparison;
import dev.gradguard.compare.RunResult;
import dev.gradguard.compare.StableRange;
import dev.gradguard.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import javax.imageio.ImageIO;

/**
 * The stability map of a comparison: policy x learning rate, each cell its successes out of its runs,
 * coloured by the success rate (red for none, white for half, blue for all; a diverging scale that reads in
 * colour-blind vision too), with each policy's {@link StableRange} outlined and named. Drawn as a Markdown
 * table, an HTML table, or a PNG.
 */
public final class StabilityMap {
    private static final Color NONE = new Color(0xD6, 0x60, 0x4D);
    private static final Color HALF = new Color(0xF7, 0xF7, 0xF7);
    private static final Color ALL = new Color(0x43, 0x93, 0xC3);

    private final List<String> policies;
    private final List<Double> lrs;
    private final List<RunResult> rows;
    private final Map<String, Optional<StableRange>> ranges;

    private StabilityMap(List<RunResult> rows) {
        this.rows = List.copyOf(rows);
        this.policies = rows.stream().map(RunResult::policy).distinct().toList();
        this.lrs = List.copyOf(new TreeSet<>(rows.stream().map(RunResult::lr).toList()));
        this.ranges = StableRange.of(rows);
    }

    /** The map of these rows: policies in order of first appearance, learning rates ascending. */
    public static StabilityMap of(List<RunResult> rows) {
        return new StabilityMap(rows);
    }

    /** Each policy's stable range. */
    public Map<String, Optional<StableRange>> ranges() {
        return ranges;
    }

    private int runs(String policy, double lr) {
        return (int) rows.stream().filter(r -> r.policy().equals(policy) && r.lr() == lr).count();
    }

    private int successes(String policy, double lr) {
        return (int) rows.stream().filter(r -> r.policy().equals(policy) && r.lr() == lr && r.success()).count();
    }

    private boolean inRange(String policy, double lr) {
        return ranges.get(policy).map(r -> lr >= r.low() && lr <= r.high()).orElse(false);
    }

    /** A stable range in words: {@code 0.03 to 1 (33x)}, {@code 0.5 only (1x)}, or {@code none}. */
    public static String rangeText(Optional<StableRange> range) {
        return range.map(r -> (r.low() == r.high() ? Comparison.lrText(r.low()) + " only"
                : Comparison.lrText(r.low()) + " to " + Comparison.lrText(r.high()))
                + String.format(Locale.ROOT, " (%.3gx)", r.ratio())).orElse("none");
    }

    private static String caption(String marked) {
        return "Each cell: runs that met the task's criterion out of the runs at that learning rate. The stable range"
                + " (" + marked + ") is the widest run of adjacent grid learning rates where at least "
                + Math.round(StableRange.MIN_SUCCESS_RATE * 100) + "% of the seeds succeed.";
    }

    /** The map as a Markdown table, cells in the stable range in bold, with a caption. */
    public String markdown() {
        StringBuilder s = new StringBuilder("| policy |");
        lrs.forEach(lr -> s.append(" lr ").append(Comparison.lrText(lr)).append(" |"));
        s.append(" stable range |\n|---|");
        lrs.forEach(lr -> s.append("---:|"));
        s.append("---|\n");
        for (String policy : policies) {
            s.append("| `").append(policy).append("` |");
            for (double lr : lrs) {
                String cell = runs(policy, lr) == 0 ? "-" : successes(policy, lr) + "/" + runs(policy, lr);
                s.append(' ').append(inRange(policy, lr) ? "**" + cell + "**" : cell).append(" |");
            }
            s.append(' ').append(rangeText(ranges.get(policy))).append(" |\n");
        }
        return s.append('\n').append(caption("in bold")).append('\n').toString();
    }

    /** The map as an HTML table, cells coloured by success rate and the stable range outlined, with a caption. */
    public String html() {
        StringBuilder s = new StringBuilder("<table class=\"stability-map\">\n<tr><th>policy \\ learning rate</th>");
        lrs.forEach(lr -> s.append("<th>").append(Comparison.lrText(lr)).append("</th>"));
        s.append("<th>stable range</th></tr>\n");
        for (String policy : policies) {
            s.append("<tr><td><code>").append(Html.escape(policy)).append("</code></td>");
            for (double lr : lrs) {
                int n = runs(policy, lr);
                int k = successes(policy, lr);
                if (n == 0) {
                    s.append("<td class=\"num\">-</td>");
                    continue;
                }
                String style = "background:" + hex(colour((double) k / n)) + ";text-align:center;min-width:3.2em;"
                        + (inRange(policy, lr) ? "outline:3px solid #222;outline-offset:-3px;font-weight:600" : "");
                s.append("<td style=\"").append(style).append("\" title=\"")
                        .append(Html.escape(policy + " at lr " + Comparison.lrText(lr) + ": " + k + " of " + n + " succeeded"))
                        .append("\">").append(k).append('/').append(n).append("</td>");
            }
            s.append("<td>").append(Html.escape(rangeText(ranges.get(policy)))).append("</td></tr>\n");
        }
        return s.append("</table>\n").append(RunReport.caption(caption("outlined"))).toString();
    }

    /** Writes the map as a PNG. */
    public void savePng(Path file) throws IOException {
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
        Font mono = new Font(Font.MONOSPACED, Font.PLAIN, 14);
        Font bold = font.deriveFont(Font.BOLD);
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D pg = probe.createGraphics();
        int labelWidth = 80;
        int rangeWidth = 110;
        for (String p : policies) {
            labelWidth = Math.max(labelWidth, pg.getFontMetrics(mono).stringWidth(p) + 20);
            rangeWidth = Math.max(rangeWidth, pg.getFontMetrics(font).stringWidth(rangeText(ranges.get(p))) + 20);
        }
        String legendText = "100% of seeds succeed; outlined: the stable range (>= "
                + Math.round(StableRange.MIN_SUCCESS_RATE * 100) + "%)";
        int legendTextX = 248;
        int legendWidth = legendTextX + pg.getFontMetrics(font).stringWidth(legendText) + 10;
        pg.dispose();
        int cellW = 72;
        int cellH = 34;
        int top = 58;
        // a narrow grid (few learning rates) must not cut the legend's text off
        int width = Math.max(labelWidth + cellW * lrs.size() + rangeWidth + 20, legendWidth);
        int height = top + cellH * policies.size() + 60;
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLACK);
        g.setFont(bold);
        g.drawString("Stability map: runs that succeeded, per policy and learning rate", 10, 22);
        g.setFont(font);
        for (int j = 0; j < lrs.size(); j++) {
            centred(g, Comparison.lrText(lrs.get(j)), labelWidth + j * cellW, top - 10, cellW);
        }
        g.drawString("stable range", labelWidth + lrs.size() * cellW + 10, top - 10);
        for (int i = 0; i < policies.size(); i++) {
            String policy = policies.get(i);
            int y = top + i * cellH;
            g.setColor(Color.BLACK);
            g.setFont(mono);
            g.drawString(policy, 10, y + cellH / 2 + 5);
            g.setFont(font);
            for (int j = 0; j < lrs.size(); j++) {
                int n = runs(policy, lrs.get(j));
                int k = successes(policy, lrs.get(j));
                int x = labelWidth + j * cellW;
                g.setColor(n == 0 ? Color.WHITE : colour((double) k / n));
                g.fillRect(x, y, cellW, cellH);
                g.setColor(new Color(0xDD, 0xDD, 0xDD));
                g.drawRect(x, y, cellW, cellH);
                g.setColor(Color.BLACK);
                centred(g, n == 0 ? "-" : k + "/" + n, x, y + cellH / 2 + 5, cellW);
            }
            Optional<StableRange> range = ranges.get(policy);
            if (range.isPresent()) {
                int from = lrs.indexOf(range.get().low());
                int to = lrs.indexOf(range.get().high());
                g.setStroke(new BasicStroke(3f));
                g.setColor(new Color(0x22, 0x22, 0x22));
                g.drawRect(labelWidth + from * cellW + 2, y + 2, (to - from + 1) * cellW - 4, cellH - 4);
                g.setStroke(new BasicStroke(1f));
            }
            g.setColor(Color.BLACK);
            g.drawString(rangeText(range), labelWidth + lrs.size() * cellW + 10, y + cellH / 2 + 5);
        }
        int legendY = top + policies.size() * cellH + 22;
        g.drawString("0%", 10, legendY + 12);
        for (int x = 0; x < 200; x++) {
            g.setColor(colour(x / 199.0));
            g.fillRect(40 + x, legendY, 1, 16);
        }
        g.setColor(Color.BLACK);
        g.drawString(legendText, legendTextX, legendY + 12);
        g.dispose();
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(image, "png", png);
        AtomicFiles.write(file, png.toByteArray());
    }

    private static void centred(Graphics2D g, String text, int x, int baseline, int width) {
        FontMetrics m = g.getFontMetrics();
        g.drawString(text, x + (width - m.stringWidth(text)) / 2, baseline);
    }

    /** The colour of a success rate in [0, 1]: red at 0, near-white at 1/2, blue at 1. */
    static Color colour(double rate) {
        double t = Math.max(0, Math.min(1, rate));
        return t < 0.5 ? mix(NONE, HALF, t * 2) : mix(HALF, ALL, (t - 0.5) * 2);
    }

    private static Color mix(Color a, Color b, double f) {
        return new Color((int) Math.round(a.getRed() + f * (b.getRed() - a.getRed())),
                (int) Math.round(a.getGreen() + f * (b.getGreen() - a.getGreen())),
                (int) Math.round(a.getBlue() + f * (b.getBlue() - a.getBlue())));
    }

    private static String hex(Color c) {
        return String.format(Locale.ROOT, "#%02x%02x%02x", c.getRed(), c.getGreen(), c.getBlue());
    }
}
