package dev.gradguard.metrics.tensorboard;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * One {@code Summary.Value} of an event: a tag with a scalar ({@code simple_value}) or a histogram
 * ({@code histo}). Other kinds (images, audio, tensors) are read as neither.
 *
 * @param tag the value's tag, such as {@code train/loss}
 * @param scalar the {@code simple_value}, a float32 widened to double, when the value is a scalar
 * @param histogram the histogram, when the value is one
 */
public record SummaryValue(String tag, OptionalDouble scalar, Optional<Histogram> histogram) {

    public SummaryValue {
        Objects.requireNonNull(tag, "tag");
        Objects.requireNonNull(scalar, "scalar");
        Objects.requireNonNull(histogram, "histogram");
    }
}
