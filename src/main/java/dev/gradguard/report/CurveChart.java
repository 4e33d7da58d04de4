package dev.gradguard.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Line charts of training curves (JFreeChart): one or more panels sharing the step axis, each with its own
 * (optionally logarithmic) value axis; curves are grouped, and each group has one colour and one legend
 * entry. Non-finite and (on log axes) non-positive points are left out. Rendering needs no display.
 */
public final class CurveChart {
    /** A colour-blind-friendly palette (Okabe and Ito, 2008). */
    private static final Color[] PALETTE = {
        new Color(0x00, 0x72, 0xB2), new Color(0xD5, 0x5E, 0x00), new Color(0x00, 0x9E, 0x73),
        new Color(0xCC, 0x79, 0xA7), new Color(0xE6, 0x9F, 0x00), new Color(0x56, 0xB4, 0xE9),
        new Color(0x00, 0x00, 0x00), new Color(0xF0, 0xE4, 0x42)};

    /** One curve: its group (legend entry and colour) and its points. */
    public record Curve(String group, double[] steps, double[] values) {
    }

    /** One panel: a value-axis label, whether the axis is logarithmic, and its curves. */
    public record Panel(String label, boolean log, List<Curve> curves) {
    }

    private CurveChart() {
    }

    static {
        System.setProperty("java.awt.headless", System.getProperty("java.awt.headless", "true"));
    }

    /** Builds the chart; the groups' colours follow their first appearance across the panels. */
    public static JFreeChart build(String title, List<Panel> panels) {
        Map<String, Color> colours = new LinkedHashMap<>();
        for (Panel panel : panels) {
            for (Curve c : panel.curves()) {
                colours.computeIfAbsent(c.group(), g -> PALETTE[colours.size() % PALETTE.length]);
            }
        }
        NumberAxis stepAxis = new NumberAxis("step");
        CombinedDomainXYPlot combined = new CombinedDomainXYPlot(stepAxis);
        combined.setGap(8);
        List<String> inLegend = new ArrayList<>();
        for (Panel panel : panels) {
            combined.add(panelPlot(panel, colours, inLegend), 1);
        }
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 14), combined, true);
        chart.setBackgroundPaint(Color.WHITE);
        LegendTitle legend = chart.getLegend();
        legend.setPosition(RectangleEdge.BOTTOM);
        return chart;
    }

    /** One panel; each group gets one legend entry across all panels ({@code legendShown} is shared). */
    private static XYPlot panelPlot(Panel panel, Map<String, Color> colours, List<String> legendShown) {
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        int index = 0;
        for (Curve c : panel.curves()) {
            XYSeries series = new XYSeries(c.group() + "#" + index, false, true);
            for (int i = 0; i < c.steps().length; i++) {
                double v = c.values()[i];
                if (Double.isFinite(v) && (!panel.log() || v > 0)) {
                    series.add(c.steps()[i], v);
                }
            }
            data.addSeries(series);
            Color colour = colours.get(c.group());
            renderer.setSeriesPaint(index, new Color(colour.getRed(), colour.getGreen(), colour.getBlue(), 170));
            renderer.setSeriesStroke(index, new BasicStroke(1.2f));
            boolean first = !legendShown.contains(c.group());
            renderer.setSeriesVisibleInLegend(index, first);
            if (first) {
                legendShown.add(c.group());
            }
            index++;
        }
        renderer.setLegendItemLabelGenerator((dataset, series) -> {
            String key = String.valueOf(dataset.getSeriesKey(series));
            return key.substring(0, key.lastIndexOf('#'));
        });
        org.jfree.chart.axis.ValueAxis valueAxis;
        if (panel.log()) {
            LogAxis log = new LogAxis(panel.label());
            log.setSmallestValue(1e-12);
            valueAxis = log;
        } else {
            NumberAxis linear = new NumberAxis(panel.label());
            linear.setAutoRangeIncludesZero(false);
            valueAxis = linear;
        }
        XYPlot plot = new XYPlot(data, null, valueAxis, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xDD, 0xDD, 0xDD));
        plot.setRangeGridlinePaint(new Color(0xDD, 0xDD, 0xDD));
        return plot;
    }

    /** Writes the chart as a PNG. */
    public static void savePng(JFreeChart chart, Path file, int width, int height) throws IOException {
        ChartUtils.saveChartAsPNG(file.toFile(), chart, width, height);
    }

    /** A trailing moving average over {@code window} finite values, to make noisy curves readable. */
    public static double[] smooth(double[] values, int window) {
        double[] out = new double[values.length];
        double sum = 0;
        int count = 0;
        java.util.ArrayDeque<Double> recent = new java.util.ArrayDeque<>();
        for (int i = 0; i < values.length; i++) {
            double v = values[i];
            if (Double.isFinite(v)) {
                recent.addLast(v);
                sum += v;
                count++;
                if (count > window) {
                    sum -= recent.removeFirst();
                    count--;
                }
                out[i] = sum / count;
            } else {
                out[i] = v;
            }
        }
        return out;
    }
}
