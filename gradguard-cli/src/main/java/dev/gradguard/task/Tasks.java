package dev.gradguard.task;

import java.util.List;

/** The built-in tasks by name. */
public final class Tasks {
    private static final List<String> NAMES = List.of(
            TemporalOrderTask.NAME, AddingTask.NAME, CharLmTask.NAME);

    private Tasks() {
    }

    /** The built-in task names; the first is the default. */
    public static List<String> names() {
        return NAMES;
    }

    /**
     * The task called {@code name}, configured by {@code options}.
     *
     * @throws IllegalArgumentException naming the allowed names if {@code name} is unknown, or naming the
     *     field if an option does not suit the task
     * @throws DataException if {@code charlm}'s data file is missing, unreadable, not UTF-8 text or too short
     */
    public static Task create(String name, TaskOptions options) {
        if (options.dataPath().isPresent() && !name.equals(CharLmTask.NAME) && NAMES.contains(name)) {
            throw new IllegalArgumentException("task " + name + " generates its own data and reads no data file; --data "
                    + options.dataPath().get() + " is for task " + CharLmTask.NAME);
        }
        return switch (name) {
            case TemporalOrderTask.NAME -> new TemporalOrderTask(options);
            case AddingTask.NAME -> new AddingTask(options);
            case CharLmTask.NAME -> new CharLmTask(options);
            default -> throw new IllegalArgumentException(
                    "unknown task '" + name + "', allowed: " + String.join(", ", NAMES));
        };
    }
}
