package dev.gradguard.report;

import java.util.List;
import java.util.Optional;

/**
 * What a report shows, before it is written: a title, a line under it, and sections in order.
 *
 * @param title the page title
 * @param subtitle a line of HTML under the title
 * @param sections the sections
 */
public record ReportPage(String title, String subtitle, List<Section> sections) {

    public ReportPage {
        sections = List.copyOf(sections);
    }

    /**
     * One section: a heading, an optional figure, then HTML (tables, captions).
     *
     * @param id the section's element id, for links
     * @param heading the heading text (not HTML)
     * @param figure the chart, when the section has one
     * @param html what follows the chart, HTML already
     */
    public record Section(String id, String heading, Optional<Figure> figure, String html) {
    }

    /** The figures, in section order. */
    public List<Figure> figures() {
        return sections.stream().flatMap(s -> s.figure().stream()).toList();
    }
}
