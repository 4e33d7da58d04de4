package dev.gradguard.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.LegendItemSource;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChartsTest {
    @TempDir
    Path tmp;

    @Test
    void decimationKeepsEachBucketsSmallestAndLargestValueInStepOrder() {
        double[] steps = new double[12];
        double[] values = new double[12];
        for (int i = 0; i < 12; i++) {
            steps[i] = i;
            values[i] = i == 4 ? 100 : i == 7 ? -5 : i == 9 ? Double.NaN : 1;
        }
        CurveChart.Curve c = new CurveChart.Curve("g", steps, values);
        CurveChart.Curve d = CurveChart.decimate(c, 2);
        // buckets [0, 6) and [6, 12): min/max of each, in step order; NaN is never kept
        assertArrayEquals(new double[] {0, 4, 6, 7}, d.steps(), 0);
        assertArrayEquals(new double[] {1, 100, 1, -5}, d.values(), 0);
        assertSame(c, CurveChart.decimate(c, 6), "short curves are kept as they are");
        assertEquals(CurveChart.Style.LINE, c.style());
    }

    @Test
    void markersGetOneLegendEntryPerGroupBesideTheCurves() {
        JFreeChart chart = CurveChart.build("t", List.of(new CurveChart.Panel("v", true, List.of(
                new CurveChart.Curve("a", new double[] {0, 1, 2}, new double[] {1, 2, 3}),
                new CurveChart.Curve("b", new double[] {0, 1, 2}, new double[] {2, 2, 2}, CurveChart.Style.DASHED)))),
                List.of(new CurveChart.Marker(1, "skipped"), new CurveChart.Marker(2, "skipped")));
        List<String> labels = new ArrayList<>();
        for (LegendItemSource source : chart.getLegend().getSources()) {
            for (int i = 0; i < source.getLegendItems().getItemCount(); i++) {
                labels.add(source.getLegendItems().get(i).getLabel());
            }
        }
        assertEquals(List.of("a", "b", "skipped"), labels);
    }

    @Test
    void anAxisLabelsItsTicksInOneStyle() {
        PlainNumberFormat plain = PlainNumberFormat.forRange(0.05, 250);
        assertEquals("0.794", plain.format(0.7943));
        assertEquals("1", plain.format(1.0));
        assertEquals("250", plain.format(250));
        assertEquals("0.05", plain.format(0.05));
        assertEquals("0", plain.format(0));
        // an axis reaching below 1e-3 labels every tick in scientific notation, never "0.00010" beside "1e-05"
        PlainNumberFormat wide = PlainNumberFormat.forRange(1e-5, 1);
        assertEquals(List.of("1e-05", "1e-04", "1e-03", "2.5e-02", "1e+00"),
                List.of(wide.format(1e-5), wide.format(1e-4), wide.format(1e-3), wide.format(0.025), wide.format(1.0)));
        assertEquals("2e+05", PlainNumberFormat.forRange(1, 2e5).format(2e5));
    }

    @Test
    void theHeatMapColoursByLogNormAndMarksNonFiniteNorms() throws IOException {
        // the scale works on log10(norm), so that the colour bar, drawn in equal steps of the scale, is the cells'
        HeatMapChart.LogPaintScale scale = new HeatMapChart.LogPaintScale(1e-5, 1e3);
        assertEquals(-5, scale.getLowerBound(), 1e-12);
        assertEquals(3, scale.getUpperBound(), 1e-12);
        assertEquals(new Color(0x44, 0x01, 0x54), scale.getPaint(Math.log10(1e-5)), "the smallest norm is viridis' first colour");
        assertEquals(new Color(0xfd, 0xe7, 0x25), scale.getPaint(Math.log10(1e3)), "the largest, its last");
        assertEquals(new Color(0x21, 0x90, 0x8d), scale.getPaint(Math.log10(0.1)), "half-way in log is the middle colour");
        assertEquals(new Color(0x47, 0x2c, 0x7a), scale.getPaint(Math.log10(1e-4)), "one decade up: the second colour");
        assertEquals(new Color(0xD0, 0x10, 0x10), scale.getPaint(Double.POSITIVE_INFINITY), "non-finite: red");
        assertEquals(new Color(0xE8, 0xE8, 0xE8), scale.getPaint(Double.NEGATIVE_INFINITY), "zero: light grey");
        assertEquals(Color.WHITE, scale.getPaint(Double.NaN), "no value: blank");

        LayerNorms norms = LayerNorms.read(SyntheticRun.write(tmp.resolve("run"), 40, "norm:1.0"));
        assertEquals(SyntheticRun.LAYERS, norms.layers());
        assertArrayEquals(new long[] {0, 10, 20, 30}, norms.steps());
        assertEquals(Double.POSITIVE_INFINITY, norms.norms()[0][2], "a NaN norm reads as non-finite");
        assertEquals(0.1 * 1.1, norms.norms()[1][1], 1e-6);
        assertThrows(IllegalArgumentException.class,
                () -> HeatMapChart.build("t", new LayerNorms(List.of(), new long[0], new double[0][0])));
    }

    @Test
    void aCollapsedCurveIsMarkedWhereItCollapsedAndDoesNotStretchTheAxis() {
        double[] steps = {0, 1, 2, 3};
        CurveChart.Curve steady = new CurveChart.Curve("norm:1.0", steps, new double[] {1.0, 0.5, 0.2, 0.1});
        CurveChart.Curve blownUp = new CurveChart.Curve("none", steps, new double[] {1.0, 1e18, Double.NaN, Double.NaN},
                CurveChart.Style.LINE, 1);
        assertArrayEquals(new double[] {0.1, 1.0}, CurveChart.valueRange(new CurveChart.Panel("loss", true,
                List.of(blownUp, steady))), 0);
        assertArrayEquals(new double[] {1.0, 1e18}, CurveChart.valueRange(new CurveChart.Panel("loss", true,
                List.of(blownUp))), 0, "with only collapsed curves, theirs is the range");
        JFreeChart chart = CurveChart.build("t", List.of(new CurveChart.Panel("loss", true, List.of(blownUp, steady))));
        org.jfree.chart.plot.XYPlot plot = (org.jfree.chart.plot.XYPlot)
                ((org.jfree.chart.plot.CombinedDomainXYPlot) chart.getXYPlot()).getSubplots().get(0);
        org.jfree.data.xy.XYDataset data = plot.getDataset();
        assertEquals(3, data.getSeriesCount(), "two curves and the collapse's cross");
        assertEquals(1.0, data.getXValue(2, 0), "the cross sits at the collapse step");
        assertEquals(1.0, data.getYValue(2, 0), "at the curve's value there, kept inside the axis");
        List<String> legend = new ArrayList<>();
        org.jfree.chart.LegendItemCollection items = chart.getLegend().getSources()[1].getLegendItems();
        for (int i = 0; i < items.getItemCount(); i++) {
            legend.add(items.get(i).getLabel());
        }
        assertEquals(List.of("collapse"), legend);
    }

    @Test
    void eachGroupIsDrawnNarrowerThanTheOneBeforeSoCoincidingCurvesStayVisible() {
        assertEquals(3.6f, CurveChart.strokeWidth(0, 3));
        assertEquals(2.4f, CurveChart.strokeWidth(1, 3), 1e-6);
        assertEquals(1.2f, CurveChart.strokeWidth(2, 3));
    }

    @Test
    void theHeatMapsColourBarShowsTheCellsColoursAndItsStepAxisStartsAtTheFirstStep() {
        LayerNorms norms = new LayerNorms(List.of("a", "b"), new long[] {0, 100, 200},
                new double[][] {{1e-5, 1e-4, 1e-3}, {1e-2, 1e-1, 1e3}});
        JFreeChart chart = HeatMapChart.build("t", norms);
        XYPlot plot = chart.getXYPlot();
        XYBlockRenderer cells = (XYBlockRenderer) plot.getRenderer();
        PaintScaleLegend bar = (PaintScaleLegend) chart.getSubtitle(0);
        // the bar is drawn at equal steps of its axis; each step's colour is the colour of a cell with that value
        for (int l = 0; l < 2; l++) {
            for (int c = 0; c < 3; c++) {
                double cellValue = ((org.jfree.data.xy.XYZDataset) plot.getDataset()).getZValue(0, 3 * l + c);
                double norm = norms.norms()[l][c];
                assertEquals(Math.log10(norm), cellValue, 1e-12, "cells hold log10(norm)");
                assertEquals(cells.getPaintScale().getPaint(cellValue), bar.getScale().getPaint(bar.getAxis().getLowerBound()
                        + (Math.log10(norm) - Math.log10(1e-5)) / 8 * (bar.getAxis().getUpperBound() - bar.getAxis().getLowerBound())),
                        "the bar's colour at " + norm + " is the cell's");
            }
        }
        assertEquals(-5, bar.getAxis().getLowerBound(), 1e-12);
        assertEquals(3, bar.getAxis().getUpperBound(), 1e-12);
        assertEquals("1e-04", bar.getAxis() instanceof NumberAxis n ? n.getNumberFormatOverride().format(-4.0) : "",
                "the bar's axis reads as norms, in one style");
        assertEquals(0, plot.getDomainAxis().getLowerBound(), "the step axis starts at the first recorded step");
        assertEquals(300, plot.getDomainAxis().getUpperBound(), "and ends where the last column does");
    }
}
