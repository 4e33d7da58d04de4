package dev.gradguard.metrics.tensorboard;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One decoded {@code Event} record of an event file.
 *
 * @param wallTime seconds since the Unix epoch
 * @param step the training step (0 when the record has none, as in the file-version header)
 * @param fileVersion {@code brain.Event:2} in a file's first record; empty elsewhere
 * @param values the summary's values, in file order; empty when the event holds no summary
 */
public record Event(double wallTime, long step, Optional<String> fileVersion, List<SummaryValue> values) {

    public Event {
        Objects.requireNonNull(fileVersion, "fileVersion");
        values = List.copyOf(values);
    }
}
