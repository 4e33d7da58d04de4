package dev.gradguard.report;

import dev.gradguard.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.geom.Line2D;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.LegendItem;
import org.jfree.chart.LegendItemCollection;
import org.jfree.chart.LegendItemSource;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.ui.Layer;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Line charts of training curves (JFreeChart): one or more panels sharing the step axis, each with its own
 * (optionally logarithmic) value axis; curves are grouped, and each group has one colour and one legend
 * entry. Non-finite and (on log axes) non-positive points are left out. Optional step markers (vertical
 * lines across every panel, such as skipped steps) are grouped too, each group with its own colour and
 * legend entry. Rendering needs no display.
 */
public final class CurveChart {
    /**
     * A colour-blind-friendly palette (Okabe and Ito, 2008), ordered so that the first six are distinct hues
     * (blue, vermilion, bluish green, reddish purple, orange, black); sky blue, close to blue, comes seventh and
     * yellow, faint on white, last.
     */
    private static final Color[] PALETTE = {
        new Color(0x00, 0x72, 0xB2), new Color(0xD5, 0x5E, 0x00), new Color(0x00, 0x9E, 0x73),
        new Color(0xCC, 0x79, 0xA7), new Color(0xE6, 0x9F, 0x00), new Color(0x00, 0x00, 0x00),
        new Color(0x56, 0xB4, 0xE9), new Color(0xF0, 0xE4, 0x42)};

    /** Stroke widths: the first group widest and drawn first, so a later group on top of it leaves it visible. */
    private static final float WIDEST = 3.6f;
    private static final float NARROWEST = 1.2f;

    /** Marker colours, distinct from the curves' first colours: vermilion red, purple, grey. */
    private static final Color[] MARKER_PALETTE = {
        new Color(0xC0, 0x1B, 0x1B), new Color(0x88, 0x44, 0xAA), new Color(0x77, 0x77, 0x77)};

    /** How a curve is drawn. */
    public enum Style {
        /** A solid line. */
        LINE,
        /** A dashed line, for reference levels such as a clipping threshold. */
        DASHED,
        /** A wide, pale line, for a curve that a later, thinner one may follow exactly: both stay visible. */
        WIDE
    }

    /**
     * One curve: its group (legend entry and colour), its points, its style, and the step at which its run
     * collapsed (NaN when it did not). A collapsed curve is marked with a cross at that step and does not
     * stretch its panel's value axis while any curve of the panel did not collapse.
     */
    public record Curve(String group, double[] steps, double[] values, Style style, double collapseStep) {
        /** A solid curve. */
        public Curve(String group, double[] steps, double[] values) {
            this(group, steps, values, Style.LINE);
        }

        /** A curve of a run that did not collapse. */
        public Curve(String group, double[] steps, double[] values, Style style) {
            this(group, steps, values, style, Double.NaN);
        }

        /** Whether its run collapsed. */
        public boolean collapsed() {
            return !Double.isNaN(collapseStep);
        }
    }

    /** A vertical line at {@code step} across every panel; markers of one group share a colour and a legend entry. */
    public record Marker(double step, String group) {
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
        return build(title, panels, List.of());
    }

    /** Builds the chart with step markers drawn behind the curves of every panel. */
    public static JFreeChart build(String title, List<Panel> panels, List<Marker> markers) {
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
        Map<String, Color> markerColours = new LinkedHashMap<>();
        for (Marker m : markers) {
            markerColours.computeIfAbsent(m.group(), g -> MARKER_PALETTE[markerColours.size() % MARKER_PALETTE.length]);
        }
        for (Panel panel : panels) {
            XYPlot plot = panelPlot(panel, colours, inLegend);
            for (Marker m : markers) {
                ValueMarker line = new ValueMarker(m.step(), markerColours.get(m.group()), new BasicStroke(1.0f));
                plot.addDomainMarker(line, Layer.BACKGROUND);
            }
            combined.add(plot, 1);
        }
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 14), combined, true);
        chart.setBackgroundPaint(Color.WHITE);
        LegendTitle legend = chart.getLegend();
        legend.setPosition(RectangleEdge.BOTTOM);
        LegendItemCollection extraItems = new LegendItemCollection();
        markerColours.forEach((group, colour) -> extraItems.add(new LegendItem(group, null, null, null,
                new Line2D.Double(0, -5, 0, 5), new BasicStroke(2.0f), colour)));
        if (panels.stream().anyMatch(p -> p.curves().stream().anyMatch(Curve::collapsed))) {
            extraItems.add(new LegendItem("collapse", null, null, null, true, COLLAPSE_SYMBOL, false, Color.WHITE, true,
                    Color.DARK_GRAY, new BasicStroke(2.0f), false, new Line2D.Double(), new BasicStroke(1f), Color.DARK_GRAY));
        }
        if (extraItems.getItemCount() > 0) {
            legend.setSources(new LegendItemSource[] {combined, () -> extraItems});
        }
        return chart;
    }

    /** The symbol that marks the step at which a run collapsed: a cross. */
    private static final java.awt.Shape COLLAPSE_SYMBOL = crossShape(6);

    private static java.awt.Shape crossShape(double r) {
        java.awt.geom.Path2D.Double cross = new java.awt.geom.Path2D.Double();
        cross.moveTo(-r, -r);
        cross.lineTo(r, r);
        cross.moveTo(-r, r);
        cross.lineTo(r, -r);
        return cross;
    }

    /**
     * One panel; each group gets one legend entry across all panels ({@code legendShown} is shared). Groups are
     * drawn in order, each narrower than the one before, so curves that coincide stay visible.
     */
    private static XYPlot panelPlot(Panel panel, Map<String, Color> colours, List<String> legendShown) {
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        // one path per curve rather than a line per segment: the same picture, and a far smaller SVG
        renderer.setDrawSeriesLineAsPath(true);
        List<String> groups = new ArrayList<>(colours.keySet());
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
            renderer.setSeriesPaint(index, new Color(colour.getRed(), colour.getGreen(), colour.getBlue(),
                    c.style() == Style.WIDE ? 60 : 170));
            float width = strokeWidth(groups.indexOf(c.group()), groups.size());
            renderer.setSeriesStroke(index, switch (c.style()) {
                case DASHED -> new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f);
                case WIDE -> new BasicStroke(width + 4.8f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
                case LINE -> new BasicStroke(width);
            });
            boolean first = !legendShown.contains(c.group());
            renderer.setSeriesVisibleInLegend(index, first);
            if (first) {
                legendShown.add(c.group());
            }
            index++;
        }
        double[] range = valueRange(panel);
        double lo = range[0];
        double hi = range[1];
        // each collapse as a one-point series drawn as a cross, at the curve's value there kept inside the axis
        for (Curve c : panel.curves()) {
            if (c.collapsed() && lo <= hi) {
                XYSeries point = new XYSeries(c.group() + " collapse#" + index, false, true);
                point.add(c.collapseStep(), Math.max(lo, Math.min(hi, valueAt(c, c.collapseStep(), panel.log()).orElse(hi))));
                data.addSeries(point);
                renderer.setSeriesPaint(index, colours.get(c.group()));
                renderer.setSeriesLinesVisible(index, false);
                renderer.setSeriesShapesVisible(index, true);
                renderer.setSeriesShapesFilled(index, false);
                renderer.setSeriesShape(index, COLLAPSE_SYMBOL);
                renderer.setSeriesOutlineStroke(index, new BasicStroke(2.0f));
                renderer.setSeriesVisibleInLegend(index, false);
                index++;
            }
        }
        renderer.setLegendItemLabelGenerator((dataset, series) -> {
            String key = String.valueOf(dataset.getSeriesKey(series));
            return key.substring(0, key.lastIndexOf('#'));
        });
        org.jfree.chart.axis.ValueAxis valueAxis;
        if (panel.log()) {
            LogAxis log = new LogAxis(panel.label());
            log.setSmallestValue(1e-12);
            logTicks(log, lo, hi);
            if (lo < hi) {
                log.setRange(lo / 1.25, hi * 1.25);
            }
            valueAxis = log;
        } else {
            NumberAxis linear = new NumberAxis(panel.label());
            // rates and learning rates read best from zero; a constant curve needs a range around it too
            linear.setAutoRangeIncludesZero(lo >= 0 || lo == hi);
            if (lo < hi && panel.curves().stream().anyMatch(Curve::collapsed)) {
                double margin = (hi - lo) * 0.05;
                linear.setRange(lo >= 0 ? 0 : lo - margin, hi + margin);
            }
            valueAxis = linear;
        }
        XYPlot plot = new XYPlot(data, null, valueAxis, renderer);
        plot.setSeriesRenderingOrder(org.jfree.chart.plot.SeriesRenderingOrder.FORWARD);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xDD, 0xDD, 0xDD));
        plot.setRangeGridlinePaint(new Color(0xDD, 0xDD, 0xDD));
        return plot;
    }

    /** The width of group {@code g}'s lines out of {@code n} groups: from {@link #WIDEST} down to {@link #NARROWEST}. */
    static float strokeWidth(int g, int n) {
        return n <= 1 ? NARROWEST + 0.4f : WIDEST - (WIDEST - NARROWEST) * g / (n - 1);
    }

    /**
     * The value range the panel's axis shows: that of the curves that did not collapse, when any of them has a
     * value to show, else that of every curve; non-finite and (on log axes) non-positive values left out.
     * {@code lo > hi} when there is nothing to show.
     */
    static double[] valueRange(Panel panel) {
        boolean anySteady = panel.curves().stream().anyMatch(c -> !c.collapsed() && hasValue(c, panel.log()));
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (Curve c : panel.curves()) {
            if (anySteady && c.collapsed()) {
                continue;
            }
            for (double v : c.values()) {
                if (Double.isFinite(v) && (!panel.log() || v > 0)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        return new double[] {lo, hi};
    }

    private static boolean hasValue(Curve c, boolean log) {
        return java.util.Arrays.stream(c.values()).anyMatch(v -> Double.isFinite(v) && (!log || v > 0));
    }

    /** The curve's last drawable value at or before {@code step}. */
    private static java.util.OptionalDouble valueAt(Curve c, double step, boolean log) {
        java.util.OptionalDouble last = java.util.OptionalDouble.empty();
        for (int i = 0; i < c.steps().length && c.steps()[i] <= step; i++) {
            double v = c.values()[i];
            if (Double.isFinite(v) && (!log || v > 0)) {
                last = java.util.OptionalDouble.of(v);
            }
        }
        return last;
    }

    /**
     * Tick labels of a log axis in one style ({@link PlainNumberFormat#forRange}), and ticks only at powers
     * of ten when the values span at least a decade.
     */
    static void logTicks(LogAxis axis, double lo, double hi) {
        axis.setNumberFormatOverride(PlainNumberFormat.forRange(lo, hi));
        if (lo > 0 && hi / lo >= 10) {
            axis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        }
    }

    /** Writes the chart as a PNG. */
    public static void savePng(JFreeChart chart, Path file, int width, int height) throws IOException {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(png, chart, width, height);
        AtomicFiles.write(file, png.toByteArray());
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

    /**
     * A curve thinned to at most about {@code 2 * buckets} points for drawing: the steps are cut into
     * {@code buckets} runs of equal length, and each run keeps its smallest and largest finite value, in
     * step order, so spikes survive. Curves with at most {@code 2 * buckets} points are returned as they are.
     */
    public static Curve decimate(Curve curve, int buckets) {
        int n = curve.steps().length;
        if (n <= 2 * buckets) {
            return curve;
        }
        double[] xs = new double[2 * buckets];
        double[] ys = new double[2 * buckets];
        int k = 0;
        for (int b = 0; b < buckets; b++) {
            int from = (int) ((long) b * n / buckets);
            int to = (int) ((long) (b + 1) * n / buckets);
            int min = -1;
            int max = -1;
            for (int i = from; i < to; i++) {
                double v = curve.values()[i];
                if (Double.isFinite(v)) {
                    if (min < 0 || v < curve.values()[min]) {
                        min = i;
                    }
                    if (max < 0 || v > curve.values()[max]) {
                        max = i;
                    }
                }
            }
            if (min >= 0) {
                int first = Math.min(min, max);
                int second = Math.max(min, max);
                xs[k] = curve.steps()[first];
                ys[k++] = curve.values()[first];
                if (second != first) {
                    xs[k] = curve.steps()[second];
                    ys[k++] = curve.values()[second];
                }
            }
        }
        return new Curve(curve.group(), java.util.Arrays.copyOf(xs, k), java.util.Arrays.copyOf(ys, k), curve.style(),
                curve.collapseStep());
    }
}
