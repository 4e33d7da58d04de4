package dev.gradguard.run;

import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;

/** How settings spell "not set": an empty path, a size of 0 for the task's default. */
final class SettingValues {
    private SettingValues() {
    }

    static Optional<Path> path(String text) {
        return text.isEmpty() ? Optional.empty() : Optional.of(Path.of(text));
    }

    static OptionalInt size(int value) {
        return value == 0 ? OptionalInt.empty() : OptionalInt.of(value);
    }
}
