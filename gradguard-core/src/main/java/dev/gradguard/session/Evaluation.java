package dev.gradguard.session;

/**
 * The held-out judgement of a trained model.
 *
 * @param metric the metric's name, e.g. {@code test_mse}, {@code error_rate}, {@code bits_per_char}
 * @param value the model's value of that metric
 * @param baseline the value a trivial predictor gets
 * @param learned true when the task's success criterion is met
 * @param criterion the criterion in words, e.g. {@code test_mse < 0.01}
 */
public record Evaluation(String metric, double value, double baseline, boolean learned, String criterion) {
}
