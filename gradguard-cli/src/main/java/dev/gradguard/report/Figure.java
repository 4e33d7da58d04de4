package dev.gradguard.report;

import java.awt.Rectangle;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import org.jfree.chart.JFreeChart;
import org.jfree.svg.SVGGraphics2D;
import org.jfree.svg.SVGUtils;
import org.jfree.svg.ViewBox;

/**
 * One chart of a report, rendered as inline SVG (JFreeSVG) for the HTML and as a PNG copy beside it.
 *
 * @param name a short file-name-safe name: the PNG is {@code <report>-<name>.png}
 * @param chart the chart
 * @param width the width in pixels
 * @param height the height in pixels
 */
public record Figure(String name, JFreeChart chart, int width, int height) {

    public Figure {
        Objects.requireNonNull(chart, "chart");
        if (!name.matches("[a-z0-9-]+")) {
            throw new IllegalArgumentException("figure name must be lower-case letters, digits and '-', got " + name);
        }
    }

    /**
     * The chart as an {@code <svg>} element for an HTML page: ids prefixed with the figure's name so that
     * several charts can share a page, coordinates rounded to 0.1 px, and no namespace declarations (the
     * HTML parser puts {@code <svg>} in the SVG namespace, and a page must reference no URL).
     */
    public String svg() {
        SVGGraphics2D g = new SVGGraphics2D(width, height);
        g.setDefsKeyPrefix(name + "-");
        g.setGeomDoubleConverter(SVGUtils.createDoubleConverter(1));
        g.setTransformDoubleConverter(SVGUtils.createDoubleConverter(4));
        chart.draw(g, new Rectangle(0, 0, width, height));
        String svg = g.getSVGElement("figure-" + name, true, new ViewBox(0, 0, width, height), null, null);
        return svg.replaceAll(" xmlns(:[A-Za-z]+)?=('[^']*'|\"[^\"]*\")", "");
    }

    /** Writes the PNG copy. */
    public void savePng(Path file) throws IOException {
        CurveChart.savePng(chart, file, width, height);
    }
}
