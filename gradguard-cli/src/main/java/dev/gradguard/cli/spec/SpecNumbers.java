package dev.gradguard.cli.spec;

import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The numbers of a spec's fields, and the library's refusals re-spelled with the spec's names for its parameters. */
final class SpecNumbers {
    private SpecNumbers() {
    }

    /** A number as specs write it: {@code 1.0}, {@code 1e-3}, {@code inf}. */
    static double number(String text, String field) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("inf") || t.equals("infinity")) {
            return Double.POSITIVE_INFINITY;
        }
        try {
            return Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + " must be a number, got '" + text + "'", e);
        }
    }

    static int integer(String text, String field, int min) {
        long value = longInteger(text, field, min);
        if (value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(field + " must be at most " + Integer.MAX_VALUE + ", got " + value);
        }
        return (int) value;
    }

    static long longInteger(String text, String field, long min) {
        long value;
        try {
            value = Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + " must be an integer >= " + min + ", got '" + text + "'", e);
        }
        if (value < min) {
            throw new IllegalArgumentException(field + " must be an integer >= " + min + ", got " + value);
        }
        return value;
    }

    /**
     * Calls a library constructor or factory; when it refuses a value, the message names each parameter as the spec
     * does ({@code fieldNames} maps the library's parameter names to the spec's).
     */
    static <T> T build(Supplier<T> constructor, Map<String, String> fieldNames) {
        try {
            return constructor.get();
        } catch (IllegalArgumentException e) {
            throw respelled(e, fieldNames);
        }
    }

    /** The library's refusal {@code e} with each parameter named as the spec does. */
    static IllegalArgumentException respelled(IllegalArgumentException e, Map<String, String> fieldNames) {
        String message = e.getMessage();
        for (Map.Entry<String, String> name : fieldNames.entrySet()) {
            message = Pattern.compile("\\b" + Pattern.quote(name.getKey()) + "\\b").matcher(message)
                    .replaceAll(Matcher.quoteReplacement(name.getValue()));
        }
        return new IllegalArgumentException(message, e);
    }
}
