package dev.gradguard.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.io.RegularFiles;
import dev.gradguard.metrics.Json;
import java.io.IOException;
import java.nio.file.Path;

/** Reads the small JSON files a run or a comparison writes ({@code summary.json}, {@code compare.json}). */
final class SmallJson {
    /** The largest such file read; gradguard writes a few kilobytes. */
    static final long MAX_BYTES = 16L << 20;

    private SmallJson() {
    }

    /**
     * @throws IllegalArgumentException one line naming the file when it is not a regular file, is over
     *     {@link #MAX_BYTES}, or is not JSON
     * @throws IOException when it cannot be read
     */
    static JsonNode read(Path file) throws IOException {
        RegularFiles.whyUnreadable(file, MAX_BYTES).ifPresent(why -> {
            throw new IllegalArgumentException(file + " " + why);
        });
        try {
            return Json.compact().readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage().replace('\n', ' '));
        }
    }
}
