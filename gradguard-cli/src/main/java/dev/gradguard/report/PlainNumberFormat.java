package dev.gradguard.report;

import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.util.Locale;

/**
 * Axis labels as people write numbers: {@code 0.05}, {@code 1}, {@code 250}, and {@code 1e-06} or
 * {@code 2e+05} outside {@code [1e-3, 1e5)}, three significant digits at most. JFreeChart's log axes
 * otherwise label ticks as powers of ten with fractional exponents ({@code 10^-0.3}).
 */
final class PlainNumberFormat extends NumberFormat {
    private static final long serialVersionUID = 1L;

    @Override
    public StringBuffer format(double number, StringBuffer toAppendTo, FieldPosition pos) {
        return toAppendTo.append(text(number));
    }

    @Override
    public StringBuffer format(long number, StringBuffer toAppendTo, FieldPosition pos) {
        return toAppendTo.append(text(number));
    }

    @Override
    public Number parse(String source, ParsePosition parsePosition) {
        throw new UnsupportedOperationException("PlainNumberFormat only formats");
    }

    static String text(double v) {
        double a = Math.abs(v);
        if (!Double.isFinite(v) || v == 0) {
            return v == 0 ? "0" : Double.toString(v);
        }
        if (a >= 1e-3 && a < 1e5) {
            return new java.math.BigDecimal(String.format(Locale.ROOT, "%.3g", v)).stripTrailingZeros().toPlainString();
        }
        return String.format(Locale.ROOT, "%.2g", v).replaceFirst("\\.?0+e", "e");
    }
}
