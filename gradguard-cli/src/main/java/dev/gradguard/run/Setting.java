package dev.gradguard.run;

import dev.gradguard.io.RegularFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * One key of a run's configuration: its name (as a flag without {@code --} and as a config-file key),
 * how its text or config value is read, and what values are allowed.
 *
 * @param name the key, e.g. {@code batch-size}
 * @param allowed the allowed values in words, for error messages
 * @param parse reads a value from a config file (String, Number, Boolean or List) or a flag's text;
 *     throws {@link IllegalArgumentException} with the reason when the value is not allowed
 */
record Setting(String name, String allowed, Function<Object, Object> parse) {

    Object read(Object raw) {
        try {
            return parse.apply(raw);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "'" + name + "' must be " + allowed + ", got " + show(raw) + reasonSuffix(e), e);
        }
    }

    private static String reasonSuffix(IllegalArgumentException e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? "" : " (" + m + ")";
    }

    private static String show(Object raw) {
        return raw instanceof String s ? "'" + s + "'" : String.valueOf(raw);
    }

    static Setting integer(String name, long min, long max) {
        return integer(name, min, max,
                max == Long.MAX_VALUE ? "an integer >= " + min : "an integer in [" + min + ", " + max + "]");
    }

    static Setting integer(String name, long min, long max, String allowed) {
        return new Setting(name, allowed, raw -> {
            long v = toLong(raw);
            if (v < min || v > max) {
                throw new IllegalArgumentException("");
            }
            return v;
        });
    }

    /**
     * The largest value of a number that scales float32 parameters or their updates (a learning rate, a weight
     * decay): float32's largest finite value, since libtorch computes {@code lr * grad} and
     * {@code decay * param} in the parameters' float32, where anything larger is infinite.
     */
    static final double MAX_FLOAT32 = Float.MAX_VALUE;

    /** A finite number {@code > 0}, representable as a float32 ({@link #MAX_FLOAT32} at most). */
    static Setting positiveNumber(String name) {
        return new Setting(name, "a finite number > 0 and <= " + MAX_FLOAT32 + " (the largest float32: parameters and"
                + " updates are float32)", raw -> {
            double v = toDouble(raw);
            if (!(v > 0) || v > MAX_FLOAT32) {
                throw new IllegalArgumentException("");
            }
            return v;
        });
    }

    static Setting numberInRange(String name, double min, boolean minInclusive, double max, boolean maxInclusive) {
        String allowed = "a number in " + (minInclusive ? "[" : "(") + min + ", " + max + (maxInclusive ? "]" : ")");
        return new Setting(name, allowed, raw -> {
            double v = toDouble(raw);
            boolean ok = (minInclusive ? v >= min : v > min) && (maxInclusive ? v <= max : v < max);
            if (!ok) {
                throw new IllegalArgumentException("");
            }
            return v;
        });
    }

    /** A number {@code >= 0} representable as a float32 ({@link #MAX_FLOAT32} at most), or the word {@code default}. */
    static Setting numberOrDefault(String name, String allowed) {
        return new Setting(name, allowed, raw -> {
            if (raw instanceof String s && s.trim().equalsIgnoreCase("default")) {
                return "default";
            }
            double v = toDouble(raw);
            if (!(v >= 0) || v > MAX_FLOAT32) {
                throw new IllegalArgumentException("");
            }
            return v;
        });
    }

    static Setting bool(String name) {
        return new Setting(name, "true or false", raw -> {
            if (raw instanceof Boolean b) {
                return b;
            }
            String s = String.valueOf(raw).trim().toLowerCase(Locale.ROOT);
            if (s.equals("true")) {
                return true;
            }
            if (s.equals("false")) {
                return false;
            }
            throw new IllegalArgumentException("");
        });
    }

    static Setting text(String name, String allowed) {
        return new Setting(name, allowed, raw -> {
            if (!(raw instanceof String s) || s.isBlank()) {
                throw new IllegalArgumentException("");
            }
            return s.trim();
        });
    }

    /** Text that may be empty (meaning: not set). */
    static Setting optionalText(String name, String allowed) {
        return new Setting(name, allowed, raw -> {
            if (!(raw instanceof String s)) {
                throw new IllegalArgumentException("");
            }
            return s.trim();
        });
    }

    /**
     * A directory path that may be empty (meaning: not set): when given, it must be a directory or creatable as
     * one, i.e. not a file and not below one.
     */
    static Setting optionalDirectory(String name, String allowed) {
        return new Setting(name, allowed, raw -> {
            if (!(raw instanceof String s)) {
                throw new IllegalArgumentException("");
            }
            String text = s.trim();
            if (!text.isEmpty()) {
                Path dir = Path.of(text);
                if (Files.exists(dir) && !Files.isDirectory(dir)) {
                    throw new IllegalArgumentException("it is " + RegularFiles.notRegular(dir).orElse("a file"));
                }
                RegularFiles.fileInTheWay(dir).ifPresent(file -> {
                    throw new IllegalArgumentException("it cannot be created: " + file + " is a file");
                });
            }
            return text;
        });
    }

    static Setting choice(String name, List<String> choices) {
        return new Setting(name, "one of " + String.join(", ", choices), raw -> {
            String s = String.valueOf(raw).trim().toLowerCase(Locale.ROOT);
            if (!choices.contains(s)) {
                throw new IllegalArgumentException("");
            }
            return s;
        });
    }

    /** A list of non-negative step numbers, from a YAML/JSON list or a comma-separated string. */
    static Setting stepList(String name) {
        return new Setting(name, "a comma-separated list of step numbers >= 0, e.g. 10,20,30", raw -> {
            List<Object> items = new ArrayList<>();
            if (raw instanceof List<?> l) {
                items.addAll(l);
            } else {
                String s = String.valueOf(raw).trim();
                if (!s.isEmpty()) {
                    for (String part : s.split(",")) {
                        items.add(part.trim());
                    }
                }
            }
            List<Long> steps = new ArrayList<>();
            for (Object item : items) {
                long v = toLong(item);
                if (v < 0) {
                    throw new IllegalArgumentException("");
                }
                steps.add(v);
            }
            return List.copyOf(steps);
        });
    }

    private static long toLong(Object raw) {
        if (raw instanceof Integer || raw instanceof Long || raw instanceof Short) {
            return ((Number) raw).longValue();
        }
        if (raw instanceof Number n) {
            double d = n.doubleValue();
            if (d == Math.rint(d) && Math.abs(d) < 9e15) {
                return (long) d;
            }
            throw new IllegalArgumentException("");
        }
        if (raw instanceof String s) {
            try {
                return Long.parseLong(s.trim().replace("_", ""));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("");
            }
        }
        throw new IllegalArgumentException("");
    }

    private static double toDouble(Object raw) {
        if (raw instanceof Number n) {
            return n.doubleValue();
        }
        if (raw instanceof String s) {
            try {
                return Double.parseDouble(s.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("");
            }
        }
        throw new IllegalArgumentException("");
    }
}
