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
    void logAxisLabelsArePlainNumbers() {
        assertEquals("0.794", PlainNumberFormat.text(0.7943));
        assertEquals("1", PlainNumberFormat.text(1.0));
        assertEquals("250", PlainNumberFormat.text(250));
        assertEquals("0.05", PlainNumberFormat.text(0.05));
        assertEquals("1e-06", PlainNumberFormat.text(1e-6));
        assertEquals("2e+05", PlainNumberFormat.text(2e5));
        assertEquals("0", PlainNumberFormat.text(0));
    }

    @Test
    void theHeatMapColoursByLogNormAndMarksNonFiniteNorms() throws IOException {
        HeatMapChart.LogPaintScale scale = new HeatMapChart.LogPaintScale(1e-3, 1e1);
        assertEquals(new Color(0x44, 0x01, 0x54), scale.getPaint(1e-3), "the smallest norm is viridis' first colour");
        assertEquals(new Color(0xfd, 0xe7, 0x25), scale.getPaint(1e1), "the largest, its last");
        assertEquals(new Color(0x21, 0x90, 0x8d), scale.getPaint(1e-1), "half-way in log is the middle colour");
        assertEquals(new Color(0xD0, 0x10, 0x10), scale.getPaint(Double.POSITIVE_INFINITY), "non-finite: red");
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
}
