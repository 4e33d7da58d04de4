package dev.gradguard.report;

import java.util.List;
import java.util.Locale;

/** Small helpers for writing HTML by hand: escaping, numbers and tables. */
public final class Html {
    /** A style sheet for reports and dashboard pages; system fonts only, nothing fetched. */
    public static final String STYLE = """
            body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
                   margin: 0 auto; max-width: 1180px; padding: 16px 24px; color: #222; background: #fff; }
            h1 { font-size: 1.5em; margin: 0.4em 0; }
            h2 { font-size: 1.15em; margin: 1.4em 0 0.4em; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
            table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
            th, td { border: 1px solid #ddd; padding: 3px 9px; text-align: left; vertical-align: top; }
            th { background: #f4f4f4; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; }
            code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.95em; }
            .caption { color: #555; font-size: 0.9em; margin: 0.2em 0 1em; }
            .good { color: #08752f; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; }
            nav a { margin-right: 1em; }
            svg { max-width: 100%; height: auto; }
            """;

    private Html() {
    }

    /** Escapes text for element content and quoted attribute values. */
    public static String escape(String text) {
        StringBuilder s = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> s.append("&amp;");
                case '<' -> s.append("&lt;");
                case '>' -> s.append("&gt;");
                case '"' -> s.append("&quot;");
                case '\'' -> s.append("&#39;");
                default -> s.append(c);
            }
        }
        return s.toString();
    }

    /** A number with four significant digits; non-finite values by name. */
    public static String number(double v) {
        if (!Double.isFinite(v)) {
            return Double.toString(v);
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return String.format(Locale.ROOT, "%.4g", v);
    }

    /**
     * A table; cells are HTML already (escape text with {@link #escape}). A cell whose text starts with a
     * digit, a sign or a dot is right-aligned.
     */
    public static String table(List<String> header, List<List<String>> rows) {
        StringBuilder s = new StringBuilder("<table>\n<tr>");
        for (String h : header) {
            s.append("<th>").append(h).append("</th>");
        }
        s.append("</tr>\n");
        for (List<String> row : rows) {
            s.append("<tr>");
            for (String cell : row) {
                boolean numeric = !cell.isEmpty() && "0123456789-+.".indexOf(cell.charAt(0)) >= 0;
                s.append(numeric ? "<td class=\"num\">" : "<td>").append(cell).append("</td>");
            }
            s.append("</tr>\n");
        }
        return s.append("</table>\n").toString();
    }
}
