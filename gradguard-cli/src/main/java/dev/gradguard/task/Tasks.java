package dev.gradguard.task;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
     * The training settings (keys of {@code train}'s settings, values as a config file writes them) that a task's
     * model trains with unless they are set: the default job's SGD at learning rate 1.75 trains the recurrent
     * nets, but it throws a Transformer's weights far off, so {@code transformer} trains with AdamW at
     * 3e-3 after a linear warm-up of 30 updates; on {@code charlm} for 300 steps of 32 windows, which learns
     * there in a few minutes on 2 cores (the README records the calibration). Unknown names have none.
     *
     * @param task a task name
     * @param model a model name, or {@code auto}
     * @return the settings, empty where the built-in defaults apply
     */
    public static Map<String, Object> trainingDefaults(String task, String model) {
        if (!NAMES.contains(task) || !model.equals(TransformerSize.MODEL)) {
            return Map.of();
        }
        Map<String, Object> adamw = Map.of("optimizer", "adamw", "lr", 3e-3, "schedule", "warmup:30");
        if (!task.equals(CharLmTask.NAME)) {
            return adamw;
        }
        Map<String, Object> charlm = new HashMap<>(adamw);
        charlm.put("batch-size", 32L);
        charlm.put("steps", 300L);
        return Map.copyOf(charlm);
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
