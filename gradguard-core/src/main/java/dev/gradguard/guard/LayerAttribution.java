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
 * @param nonFinite the parameters whose gradients hold NaN or an infinity, in parameter order
 */
public record LayerAttribution(String trigger, List<LayerNorm> topLayers, List<NonFiniteLayer> nonFinite) {

    /** One parameter's gradient 2-norm before clipping. */
    public record LayerNorm(String name, double norm) {
    }

    /**
     * A parameter whose gradient holds NaN or an infinity: what of it can be plotted.
     *
     * @param finiteNorm the 2-norm of the gradient's finite elements (0 when none is finite)
     * @param nonFiniteElements how many elements are NaN or infinite
     */
    public record NonFiniteLayer(String name, double finiteNorm, long nonFiniteElements) {
    }

    public LayerAttribution {
        topLayers = List.copyOf(topLayers);
        nonFinite = List.copyOf(nonFinite);
    }

    /** The names of the parameters whose gradients hold NaN or an infinity, in parameter order. */
    public List<String> nonFiniteLayers() {
        return nonFinite.stream().map(NonFiniteLayer::name).toList();
    }

    /** One line for the console: the non-finite layers, then the largest ones. */
    public String describe() {
        StringBuilder s = new StringBuilder(trigger);
        if (!nonFinite.isEmpty()) {
            s.append("; NaN/inf in ").append(String.join(", ", nonFiniteLayers()));
        }
        if (!topLayers.isEmpty()) {
            s.append("; largest gradients: ").append(topLayers.stream()
                    .map(l -> String.format(Locale.ROOT, "%s %.3g", l.name(), l.norm()))
                    .collect(Collectors.joining(", ")));
        }
        return s.toString();
    }
}
