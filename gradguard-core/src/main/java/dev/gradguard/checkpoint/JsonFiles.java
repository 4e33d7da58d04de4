package dev.gradguard.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.gradguard.metrics.Json;
import java.io.IOException;
import java.util.Map;

/** JSON maps to and from the bytes of a checkpoint file. */
final class JsonFiles {
    private JsonFiles() {
    }

    static byte[] write(Map<String, Object> map, String file) {
        try {
            return Json.pretty().writeValueAsBytes(map);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": the state is not JSON-compatible: "
                    + CheckpointException.firstLine(e), e);
        }
    }

    /**
     * A JSON object as a map.
     *
     * @throws IllegalArgumentException with a one-line reason when the bytes are not a JSON object
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> readMap(byte[] bytes, String file) {
        Object value;
        try {
            value = Json.compact().readValue(bytes, Object.class);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + CheckpointException.firstLine(e));
        }
        if (!(value instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException(file + " does not hold a JSON object");
        }
        return (Map<String, Object>) map;
    }
}
