package dev.gradguard.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.metrics.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * One line of a run's {@code metrics.jsonl}, as {@link dev.gradguard.metrics.MetricsJsonlWriter} writes it.
 * Non-finite numbers, stored as the strings {@code "NaN"}, {@code "Infinity"} and {@code "-Infinity"}, read
 * back as doubles; a field a line lacks reads as NaN (numbers) or false (flags).
 *
 * @param step the 0-based step
 * @param loss the training loss
 * @param gradNorm the gradients' 2-norm before clipping
 * @param gradNormClipped the 2-norm after the gradient pipeline
 * @param clipped whether the pipeline changed the gradients
 * @param lr the step's learning rate
 * @param skipped whether the update was skipped
 * @param nonFinite whether the loss or the gradients were non-finite
 * @param skipReason why the step was skipped, when it was
 * @param thresholdChange the clipping threshold a controller set after this step, when it relaxed it
 * @param timeMs the step's wall time in milliseconds
 */
public record MetricsRow(long step, double loss, double gradNorm, double gradNormClipped, boolean clipped,
        double lr, boolean skipped, boolean nonFinite, Optional<String> skipReason, OptionalDouble thresholdChange,
        double timeMs) {

    /**
     * Parses one line.
     *
     * @throws IllegalArgumentException when the line is not a JSON object with a numeric {@code step}
     */
    public static MetricsRow parse(String line) {
        JsonNode n;
        try {
            n = Json.compact().readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a JSON object: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject() || !n.path("step").isIntegralNumber()) {
            throw new IllegalArgumentException("not a metrics line (no integer 'step')");
        }
        OptionalDouble threshold = OptionalDouble.empty();
        for (JsonNode c : n.path("control")) {
            if (c.path("kind").asText().equals("relax_threshold")) {
                threshold = OptionalDouble.of(number(c.get("new")));
            }
        }
        String reason = n.path("skip_reason").asText("");
        return new MetricsRow(n.get("step").asLong(), number(n.get("loss")), number(n.get("grad_norm")),
                number(n.get("grad_norm_clipped")), n.path("clipped").asBoolean(false), number(n.get("lr")),
                n.path("skipped").asBoolean(false), n.path("nonfinite").asBoolean(false),
                reason.isEmpty() ? Optional.empty() : Optional.of(reason), threshold, number(n.get("time_ms")));
    }

    /**
     * Parses the complete lines of a {@code metrics.jsonl}, skipping blank ones. A malformed final line
     * is left out (the run may be writing it); a malformed line elsewhere is an error.
     *
     * @throws IllegalArgumentException naming the line number of a malformed line before the last
     */
    public static List<MetricsRow> parseAll(List<String> lines) {
        List<MetricsRow> rows = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            try {
                rows.add(parse(line));
            } catch (IllegalArgumentException e) {
                if (i < lines.size() - 1) {
                    throw new IllegalArgumentException("metrics.jsonl line " + (i + 1) + ": " + e.getMessage());
                }
            }
        }
        return rows;
    }

    /** A JSON number, or one of the strings {@code NaN}, {@code Infinity}, {@code -Infinity}; NaN otherwise. */
    static double number(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) {
            return Double.NaN;
        }
        if (n.isNumber()) {
            return n.asDouble();
        }
        try {
            return Double.parseDouble(n.asText());
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }
}
