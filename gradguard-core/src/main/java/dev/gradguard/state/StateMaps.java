package dev.gradguard.state;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Typed reads from a state map, failing with a message that names the missing or malformed key. */
public final class StateMaps {
    private StateMaps() {
    }

    public static long getLong(Map<String, Object> state, String key) {
        return number(state, key).longValue();
    }

    public static int getInt(Map<String, Object> state, String key) {
        return number(state, key).intValue();
    }

    public static double getDouble(Map<String, Object> state, String key) {
        Object v = require(state, key);
        if (v instanceof String s) {
            // JSON has no NaN or infinity: they travel as strings
            return Double.parseDouble(s);
        }
        return number(state, key).doubleValue();
    }

    public static boolean getBoolean(Map<String, Object> state, String key) {
        Object v = require(state, key);
        if (v instanceof Boolean b) {
            return b;
        }
        throw new IllegalArgumentException("state key '" + key + "' must be a boolean, got " + v);
    }

    /** A list of doubles; elements may be numbers or the strings "NaN", "Infinity", "-Infinity". */
    public static double[] getDoubles(Map<String, Object> state, String key) {
        Object v = require(state, key);
        if (!(v instanceof List<?> list)) {
            throw new IllegalArgumentException("state key '" + key + "' must be a list of numbers, got " + v);
        }
        double[] out = new double[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object e = list.get(i);
            if (e instanceof Number n) {
                out[i] = n.doubleValue();
            } else if (e instanceof String s) {
                out[i] = Double.parseDouble(s);
            } else {
                throw new IllegalArgumentException("state key '" + key + "' element " + i + " is not a number: " + e);
            }
        }
        return out;
    }

    /** A double as JSON can hold it: finite values as numbers, the rest as strings. */
    public static Object jsonDouble(double v) {
        return Double.isFinite(v) ? (Object) v : Double.toString(v);
    }

    /**
     * Whether two JSON-compatible values are equal as JSON text holds them: numbers by value (an {@code int} read
     * back from a file equals the {@code long} or {@code double} that was written), lists element by element, maps
     * key by key; anything else by {@code equals}.
     */
    public static boolean sameJson(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) {
            return Double.compare(x.doubleValue(), y.doubleValue()) == 0;
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            for (int i = 0; i < x.size(); i++) {
                if (!sameJson(x.get(i), y.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (!x.keySet().equals(y.keySet())) {
                return false;
            }
            for (Map.Entry<?, ?> e : x.entrySet()) {
                if (!sameJson(e.getValue(), y.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        return Objects.equals(a, b);
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> getMap(Map<String, Object> state, String key) {
        Object v = require(state, key);
        if (v instanceof Map<?, ?> m) {
            return (Map<String, Object>) m;
        }
        throw new IllegalArgumentException("state key '" + key + "' must be a map, got " + v);
    }

    private static Number number(Map<String, Object> state, String key) {
        Object v = require(state, key);
        if (v instanceof Number n) {
            return n;
        }
        throw new IllegalArgumentException("state key '" + key + "' must be a number, got " + v);
    }

    private static Object require(Map<String, Object> state, String key) {
        Object v = state.get(key);
        if (v == null) {
            throw new IllegalArgumentException("state is missing key '" + key + "' (has " + state.keySet() + ")");
        }
        return v;
    }
}
