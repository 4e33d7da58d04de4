package dev.gradguard.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.gradguard.state.StateMaps;

/**
 * The project's JSON conventions. Non-finite numbers, which JSON cannot hold, are written as the
 * strings {@code "NaN"}, {@code "Infinity"} and {@code "-Infinity"} (Python's {@code float()} reads them).
 */
public final class Json {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();
    private static final ObjectMapper COMPACT = JsonMapper.builder().build();

    private Json() {
    }

    /** A mapper that pretty-prints. */
    public static ObjectMapper pretty() {
        return MAPPER;
    }

    /** A mapper that writes one line. */
    public static ObjectMapper compact() {
        return COMPACT;
    }

    /** A double as JSON can hold it: finite values as numbers, the rest as strings (as checkpointed state). */
    public static Object number(double v) {
        return StateMaps.jsonDouble(v);
    }
}
