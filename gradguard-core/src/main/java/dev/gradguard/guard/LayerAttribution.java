package dev.gradguard.guard;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Where a troubled step's gradient came from: the layers with the largest gradient norms and the layers
 * whose gradients hold NaN or an infinity.
 *
 * @param trigger why the step was examined, e.g. {@code non-finite gradients} or
 *     {@code clipped hard (coefficient 0.031)}
 * @param topLayers the parameters with the largest pre-clip gradient 2-norms, largest first
 * @param nonFiniteLayers the parameters whose gradient norm is NaN or infinite, in parameter order
 */
public record LayerAttribution(String trigger, List<LayerNorm> topLayers, List<String> nonFiniteLayers) {

    /** One parameter's gradient 2-norm before clipping. */
    public record LayerNorm(String name, double norm) {
    }

    public LayerAttribution {
        topLayers = List.copyOf(topLayers);
        nonFiniteLayers = List.copyOf(nonFiniteLayers);
    }

    /** One line for the console: the non-finite layers, then the largest ones. */
    public String describe() {
        StringBuilder s = new StringBuilder(trigger);
        if (!nonFiniteLayers.isEmpty()) {
            s.append("; NaN/inf in ").append(String.join(", ", nonFiniteLayers));
        }
        if (!topLayers.isEmpty()) {
            s.append("; largest gradients: ").append(topLayers.stream()
                    .map(l -> String.format(Locale.ROOT, "%s %.3g", l.name(), l.norm()))
                    .collect(Collectors.joining(", ")));
        }
        return s.toString();
    }
}
