package dev.gradguard.report;

import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.util.Locale;

/**
 * Axis labels as people write numbers, in one style per axis: plain ({@code 0.05}, {@code 1}, {@code 250},
 * three significant digits at most) when the axis lies within {@code [1e-3, 1e5)}, else scientific for every
 * tick ({@code 1e-05}, {@code 2.5e-04}, {@code 1e+00}), so that an axis never shows {@code 0.001} next to
 * {@code 1e-04}. JFreeChart's log axes otherwise label ticks as powers of ten with fractional exponents
 * ({@code 10^-0.3}).
 */
final class PlainNumberFormat extends NumberFormat {
    private static final long serialVersionUID = 1L;

    private final boolean scientific;

    private PlainNumberFormat(boolean scientific) {
        this.scientific = scientific;
    }

    /** The format of an axis whose values run from {@code lo} to {@code hi}. */
    static PlainNumberFormat forRange(double lo, double hi) {
        return new PlainNumberFormat(!plainRange(lo) || !plainRange(hi));
    }

    private static boolean plainRange(double v) {
        double a = Math.abs(v);
        return !Double.isFinite(v) || v == 0 || a >= 1e-3 && a < 1e5;
    }

    @Override
    public StringBuffer format(double number, StringBuffer toAppendTo, FieldPosition pos) {
        return toAppendTo.append(text(number, scientific));
    }

    @Override
    public StringBuffer format(long number, StringBuffer toAppendTo, FieldPosition pos) {
        return toAppendTo.append(text(number, scientific));
    }

    @Override
    public Number parse(String source, ParsePosition parsePosition) {
        throw new UnsupportedOperationException("PlainNumberFormat only formats");
    }

    /** {@code v} as a plain number, or in scientific notation with at most two significant digits. */
    static String text(double v, boolean scientific) {
        if (!Double.isFinite(v) || v == 0) {
            return v == 0 ? "0" : Double.toString(v);
        }
        if (!scientific) {
            return new java.math.BigDecimal(String.format(Locale.ROOT, "%.3g", v)).stripTrailingZeros().toPlainString();
        }
        return String.format(Locale.ROOT, "%.1e", v).replace(".0e", "e");
    }
}
