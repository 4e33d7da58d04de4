package dev.gradguard.dist;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How data-parallel training averages the gradients over the ranks.
 *
 * <ul>
 *   <li>{@link #FLAT}: after the step's last backward, one all-reduce over the flat gradient buffer (split
 *       into 25 MiB buckets, all in flight at once). Nothing runs during backward.</li>
 *   <li>{@link #REDUCER}: DDP's own {@code Reducer} from c10d: gradients are grouped into buckets (1 MiB
 *       first, then 25 MiB, in reverse parameter order) whose all-reduce starts while backward still
 *       computes the earlier layers' gradients. With the gradient buffer bound the Reducer copies each
 *       gradient into its bucket and the averaged result back.</li>
 * </ul>
 * Both leave bit-identical gradients on every rank. {@code gradguard bench dist} measures both; the
 * default is the one that measured faster on this project's benchmark.
 */
public enum GradSync {
    FLAT, REDUCER;

    /** The default of {@code --grad-sync}. */
    public static final GradSync DEFAULT = FLAT;

    /** The name used on the command line and in config files. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The mode named {@code text}.
     *
     * @throws IllegalArgumentException naming the allowed values
     */
    public static GradSync parse(String text) {
        for (GradSync s : values()) {
            if (s.cliName().equals(text)) {
                return s;
            }
        }
        throw new IllegalArgumentException("grad-sync must be one of " + allowed() + ", got '" + text + "'");
    }

    /** The allowed names, comma-separated. */
    public static String allowed() {
        return Arrays.stream(values()).map(GradSync::cliName).collect(Collectors.joining(", "));
    }
}
