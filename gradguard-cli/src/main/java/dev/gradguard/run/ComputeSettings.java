package dev.gradguard.run;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import dev.gradguard.amp.Precision;
import dev.gradguard.dist.GradSync;
import dev.gradguard.engine.Devices;
import java.util.Arrays;
import java.util.List;

/**
 * Where and how the arithmetic runs: device, threads, precision and the gradients' layout.
 *
 * @param device auto, cpu, cuda or cuda:N
 * @param threads libtorch's intra-op threads
 * @param precision fp32, bf16 or fp16 ({@link Precision}'s names)
 * @param lossScaleInit fp16's first loss scale (PyTorch's {@code init_scale})
 * @param lossScaleGrowthInterval fp16's finite steps in a row before the loss scale doubles (PyTorch's
 *     {@code growth_interval})
 * @param flushDenormal whether denormal floats are flushed to zero
 * @param gradBuffer whether gradients are bound into one flat buffer per (device, dtype)
 * @param gradSync how data-parallel ranks average their gradients ({@link GradSync#cliName()})
 */
@JsonNaming(PropertyNamingStrategies.KebabCaseStrategy.class)
public record ComputeSettings(String device, int threads, String precision, double lossScaleInit,
        int lossScaleGrowthInterval, boolean flushDenormal, boolean gradBuffer, String gradSync) {

    static final ComputeSettings DEFAULTS = new ComputeSettings("auto", Runtime.getRuntime().availableProcessors(),
            "fp32", 65536.0, 2000, true, true, GradSync.DEFAULT.cliName());

    static final List<Setting> KEYS = List.of(
            Setting.text("device", "one of " + Devices.ALLOWED),
            Setting.integer("threads", 1, 4096),
            Setting.choice("precision", Precision.NAMES),
            Setting.numberInRange("loss-scale-init", 0, false, 1e38, true),
            Setting.integer("loss-scale-growth-interval", 1, Integer.MAX_VALUE),
            Setting.bool("flush-denormal"),
            Setting.bool("grad-buffer"),
            Setting.choice("grad-sync", Arrays.stream(GradSync.values()).map(GradSync::cliName).toList()));

    /** {@link #precision} as the library's type. */
    public Precision amp() {
        return Precision.of(precision);
    }

    /** {@link #gradSync} as the library's type. */
    public GradSync sync() {
        return GradSync.parse(gradSync);
    }
}
