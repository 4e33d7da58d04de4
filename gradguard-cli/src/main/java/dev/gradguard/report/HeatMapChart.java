package dev.gradguard.report;

import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.xy.DefaultXYZDataset;

/**
 * A heat map of per-layer gradient norms (JFreeChart): one row per layer, one column per recorded step
 * (covering the steps from it to the next), coloured on a logarithmic scale (viridis, from dark purple for
 * the smallest norm to yellow for the largest). Non-finite norms are drawn red, zero norms light grey.
 *
 * <p>The cells hold {@code log10(norm)} and the colour scale is linear in it, so that the colour bar, which
 * JFreeChart draws in equal steps of its scale, shows the cells' colours decade by decade; its axis is
 * labelled with the norms themselves.
 */
public final class HeatMapChart {
    /** Viridis (van der Walt and Smith, matplotlib 2.0), sampled at nine points. */
    private static final Color[] VIRIDIS = {
        new Color(0x44, 0x01, 0x54), new Color(0x47, 0x2c, 0x7a), new Color(0x3b, 0x51, 0x8b),
        new Color(0x2c, 0x71, 0x8e), new Color(0x21, 0x90, 0x8d), new Color(0x27, 0xad, 0x81),
        new Color(0x5c, 0xc8, 0x63), new Color(0xaa, 0xdc, 0x32), new Color(0xfd, 0xe7, 0x25)};
    private static final Color NON_FINITE = new Color(0xD0, 0x10, 0x10);
    private static final Color ZERO = new Color(0xE8, 0xE8, 0xE8);
    /** More columns than this are thinned to every k-th recorded step, so the image stays small. */
    private static final int MAX_COLUMNS = 300;

    private HeatMapChart() {
    }

    /**
     * Builds the chart.
     *
     * @throws IllegalArgumentException when {@code norms} is empty
     */
    public static JFreeChart build(String title, LayerNorms norms) {
        if (norms.isEmpty()) {
            throw new IllegalArgumentException("no per-layer gradient norms to draw");
        }
        int stride = (norms.steps().length + MAX_COLUMNS - 1) / MAX_COLUMNS;
        int columns = (norms.steps().length + stride - 1) / stride;
        int layers = norms.layers().size();
        double[][] xyz = new double[3][columns * layers];
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        int k = 0;
        for (int l = 0; l < layers; l++) {
            for (int c = 0; c < columns; c++) {
                double v = norms.norms()[l][c * stride];
                xyz[0][k] = norms.steps()[c * stride];
                // the first layer on top, as in the model's parameter list
                xyz[1][k] = layers - 1 - l;
                // log10: +inf stays +inf (non-finite), 0 becomes -inf (zero), NaN stays NaN (no value)
                xyz[2][k] = Math.log10(v);
                if (Double.isFinite(v) && v > 0) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
                k++;
            }
        }
        if (lo > hi) {
            lo = 1e-3;
            hi = 1;
        } else if (hi / lo < 10) {
            double mid = Math.sqrt(hi * lo);
            lo = mid / Math.sqrt(10);
            hi = mid * Math.sqrt(10);
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("norm", xyz);

        double width = columnWidth(norms.steps(), stride);
        XYBlockRenderer renderer = new XYBlockRenderer();
        renderer.setBlockWidth(width);
        renderer.setBlockHeight(1.0);
        // a column starts at its step, so that the axis starts at the first recorded step
        renderer.setBlockAnchor(RectangleAnchor.LEFT);
        LogPaintScale scale = new LogPaintScale(lo, hi);
        renderer.setPaintScale(scale);

        String[] names = new String[layers];
        for (int l = 0; l < layers; l++) {
            names[l] = norms.layers().get(layers - 1 - l);
        }
        SymbolAxis layerAxis = new SymbolAxis(null, names);
        layerAxis.setGridBandsVisible(false);
        layerAxis.setTickLabelFont(new Font(Font.MONOSPACED, Font.PLAIN, 11));
        NumberAxis stepAxis = new NumberAxis("step");
        stepAxis.setRange(norms.steps()[0], xyz[0][columns - 1] + width);
        XYPlot plot = new XYPlot(data, stepAxis, layerAxis, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        plot.setAxisOffset(new RectangleInsets(2, 2, 2, 2));

        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 14), plot, false);
        chart.setBackgroundPaint(Color.WHITE);
        NumberAxis legendAxis = new NumberAxis("gradient norm (log scale)");
        legendAxis.setRange(Math.log10(lo), Math.log10(hi));
        legendAxis.setNumberFormatOverride(new PowerOfTenFormat(PlainNumberFormat.forRange(lo, hi)));
        if (hi / lo >= 10) {
            legendAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        }
        PaintScaleLegend legend = new PaintScaleLegend(scale, legendAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        legend.setMargin(new RectangleInsets(8, 8, 8, 8));
        legend.setStripWidth(14);
        legend.setBackgroundPaint(Color.WHITE);
        chart.addSubtitle(legend);
        return chart;
    }

    /** A height in pixels that gives each layer a readable row. */
    public static int height(LayerNorms norms) {
        return 120 + 22 * norms.layers().size();
    }

    /** The width of one column: the smallest gap between drawn steps (1 when a single step is drawn). */
    private static double columnWidth(long[] steps, int stride) {
        double width = Double.POSITIVE_INFINITY;
        for (int i = stride; i < steps.length; i += stride) {
            width = Math.min(width, steps[i] - steps[i - stride]);
        }
        return Double.isFinite(width) ? width : 1.0;
    }

    /**
     * Maps {@code log10(norm)} to viridis, linearly between {@code log10(lo)} and {@code log10(hi)}, clamped;
     * its bounds are those logarithms. {@code +inf} (a non-finite norm) is red, {@code -inf} (a zero norm)
     * light grey, NaN (no value) white.
     */
    static final class LogPaintScale implements PaintScale {
        private final double lo;
        private final double hi;

        LogPaintScale(double lo, double hi) {
            this.lo = Math.log10(lo);
            this.hi = Math.log10(hi);
        }

        @Override
        public double getLowerBound() {
            return lo;
        }

        @Override
        public double getUpperBound() {
            return hi;
        }

        @Override
        public Paint getPaint(double log10Norm) {
            if (Double.isNaN(log10Norm)) {
                return Color.WHITE;
            }
            if (log10Norm == Double.POSITIVE_INFINITY) {
                return NON_FINITE;
            }
            if (log10Norm == Double.NEGATIVE_INFINITY) {
                return ZERO;
            }
            double t = (log10Norm - lo) / (hi - lo);
            t = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
            int i = Math.min((int) t, VIRIDIS.length - 2);
            double f = t - i;
            Color a = VIRIDIS[i];
            Color b = VIRIDIS[i + 1];
            return new Color((int) Math.round(a.getRed() + f * (b.getRed() - a.getRed())),
                    (int) Math.round(a.getGreen() + f * (b.getGreen() - a.getGreen())),
                    (int) Math.round(a.getBlue() + f * (b.getBlue() - a.getBlue())));
        }
    }

    /** Labels a {@code log10} axis with the numbers themselves: the tick at 2 reads 100. */
    private static final class PowerOfTenFormat extends java.text.NumberFormat {
        private static final long serialVersionUID = 1L;
        private final PlainNumberFormat numbers;

        PowerOfTenFormat(PlainNumberFormat numbers) {
            this.numbers = numbers;
        }

        @Override
        public StringBuffer format(double exponent, StringBuffer toAppendTo, java.text.FieldPosition pos) {
            return numbers.format(Math.pow(10, exponent), toAppendTo, pos);
        }

        @Override
        public StringBuffer format(long exponent, StringBuffer toAppendTo, java.text.FieldPosition pos) {
            return format((double) exponent, toAppendTo, pos);
        }

        @Override
        public Number parse(String source, java.text.ParsePosition parsePosition) {
            throw new UnsupportedOperationException("PowerOfTenFormat only formats");
        }
    }
}
