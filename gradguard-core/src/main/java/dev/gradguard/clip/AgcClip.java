package dev.gradguard.clip;

import dev.gradguard.model.Parameters;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Adaptive gradient clipping (AGC), unit-wise, as timm's {@code adaptive_clip_grad}: for each output unit
 * of a parameter {@code W} with gradient {@code G} (the norm runs over every dimension but the first; a
 * tensor with at most one dimension is one unit), {@code max = clamp(||W||, min=eps) * clipFactor}, and
 * where {@code ||G|| > max}, {@code G <- G * max / clamp(||G||, min=1e-6)}. Units at or below their bound
 * keep their gradient bit for bit.
 *
 * <p>Excluded parameters are left alone. By default that is the final layer, defined as the longest run of
 * parameters at the END of the named order whose module prefix (the name up to its last {@code .}, or
 * {@code ""} for a name without one) equals that of the last parameter: for {@code rnn.weight_ih_l0, ...,
 * head.weight, head.bias} it is {@code head.weight} and {@code head.bias}. Further parameters are excluded
 * by pattern: a pattern with {@code *} is a glob ({@code *} matches any characters, dots included, e.g.
 * {@code *.bias}); any other pattern matches the exact name and every name below it as a module prefix
 * ({@code embed} matches {@code embed} and {@code embed.weight}).
 *
 * <p>The report's {@code normAfter} is the 2-norm of all gradients recomputed after clipping,
 * {@code coefficient = normAfter / normBefore} (1 when nothing was clipped), and {@code clipped} is true
 * when any unit was. A NaN unit norm never exceeds its bound, so NaN gradients pass unchanged (the guard
 * skips such steps). Stateless.
 *
 * <p>References: Brock, De, Smith and Simonyan, "High-Performance Large-Scale Image Recognition Without
 * Normalization", ICML 2021.
 */
public final class AgcClip implements GradientTransform {
    /** The paper's and timm's default {@code clip_factor}. */
    public static final double DEFAULT_CLIP_FACTOR = 0.01;
    /** timm's default {@code eps}, the smallest weight norm a bound is computed from. */
    public static final double DEFAULT_EPS = 1e-3;
    private static final double GRAD_NORM_FLOOR = 1e-6;

    private final double clipFactor;
    private final double eps;
    private final boolean excludeFinalLayer;
    private final List<String> excludePatterns;
    private final List<Pattern> globs;

    /** AGC with {@code clipFactor}, eps {@code 1e-3}, and the final layer excluded. */
    public AgcClip(double clipFactor) {
        this(clipFactor, DEFAULT_EPS, true, List.of());
    }

    /**
     * @param clipFactor the bound's multiple of the weight norm, finite and {@code > 0}
     * @param eps the smallest weight norm used, finite and {@code > 0}
     * @param excludeFinalLayer whether the final layer (see the class doc) is left alone; false with no
     *     patterns clips every parameter
     * @param excludePatterns names, module prefixes or globs of further parameters to leave alone; none
     *     may be empty
     * @throws IllegalArgumentException naming the bad argument
     */
    public AgcClip(double clipFactor, double eps, boolean excludeFinalLayer, List<String> excludePatterns) {
        if (!(clipFactor > 0 && Double.isFinite(clipFactor))) {
            throw new IllegalArgumentException("clipFactor must be a finite number > 0, got " + clipFactor);
        }
        if (!(eps > 0 && Double.isFinite(eps))) {
            throw new IllegalArgumentException("eps must be a finite number > 0, got " + eps);
        }
        List<Pattern> compiled = new ArrayList<>();
        for (String p : Objects.requireNonNull(excludePatterns, "excludePatterns")) {
            if (p == null || p.isEmpty()) {
                throw new IllegalArgumentException("excludePatterns must hold non-empty patterns, got "
                        + (p == null ? "null" : "''"));
            }
            compiled.add(p.contains("*") ? globPattern(p) : null);
        }
        this.clipFactor = clipFactor;
        this.eps = eps;
        this.excludeFinalLayer = excludeFinalLayer;
        this.excludePatterns = List.copyOf(excludePatterns);
        this.globs = compiled;
    }

    public double clipFactor() {
        return clipFactor;
    }

    public double eps() {
        return eps;
    }

    public boolean excludesFinalLayer() {
        return excludeFinalLayer;
    }

    public List<String> excludePatterns() {
        return excludePatterns;
    }

    /** {@code agc}. */
    @Override
    public String name() {
        return "agc";
    }

    /** {@code clipFactor}, {@code eps}, {@code excludeFinalLayer} and {@code excludePatterns}. */
    @Override
    public Map<String, Object> config() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("clipFactor", clipFactor);
        config.put("eps", eps);
        config.put("excludeFinalLayer", excludeFinalLayer);
        config.put("excludePatterns", excludePatterns);
        return config;
    }

    /** The names of the parameters this transform leaves alone, in order. */
    public List<String> excludedNames(Parameters parameters) {
        boolean[] excluded = excludedMask(parameters);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < excluded.length; i++) {
            if (excluded[i]) {
                names.add(parameters.name(i));
            }
        }
        return names;
    }

    @Override
    @SuppressWarnings("try") // both resources act by being open
    public TransformReport apply(Parameters parameters, GradientContext context) {
        boolean[] excluded = excludedMask(parameters);
        boolean clipped;
        try (PointerScope temporaries = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            TensorVector anyClipped = new TensorVector();
            for (int i = 0; i < parameters.size(); i++) {
                Tensor grad = parameters.get(i).grad();
                if (excluded[i] || !grad.defined() || grad.numel() == 0) {
                    continue;
                }
                Tensor maxNorm = unitNorm(parameters.get(i).detach()).clamp_min(new Scalar(eps))
                        .mul(new Scalar(clipFactor));
                Tensor gradNorm = unitNorm(grad);
                Tensor over = gradNorm.gt(maxNorm);
                Tensor scaled = grad.mul(maxNorm.div(gradNorm.clamp_min(new Scalar(GRAD_NORM_FLOOR))));
                grad.copy_(torch.where(over, scaled, grad));
                anyClipped.push_back(over.any());
            }
            clipped = anyClipped.size() > 0 && torch.stack(anyClipped).any().item_bool();
        }
        double before = context.gradNormValue();
        if (!clipped) {
            return TransformReport.unchanged(name(), before);
        }
        double after = context.ops().totalNorm(2.0).item_double();
        double coefficient = before == 0.0 ? 1.0 : after / before;
        return new TransformReport(name(), before, after, coefficient, true, Optional.empty());
    }

    /** timm's {@code unitwise_norm}: per output unit, or the whole tensor when it has at most one dimension. */
    private static Tensor unitNorm(Tensor t) {
        int dims = (int) t.dim();
        if (dims <= 1) {
            return torch.linalg_vector_norm(t, new Scalar(2.0), new long[0], false, new ScalarTypeOptional());
        }
        long[] rest = new long[dims - 1];
        for (int d = 1; d < dims; d++) {
            rest[d - 1] = d;
        }
        return torch.linalg_vector_norm(t, new Scalar(2.0), rest, true, new ScalarTypeOptional());
    }

    private boolean[] excludedMask(Parameters parameters) {
        int n = parameters.size();
        boolean[] excluded = new boolean[n];
        if (excludeFinalLayer && n > 0) {
            String last = modulePrefix(parameters.name(n - 1));
            for (int i = n - 1; i >= 0 && modulePrefix(parameters.name(i)).equals(last); i--) {
                excluded[i] = true;
            }
        }
        for (int i = 0; i < n; i++) {
            excluded[i] |= matchesAnyPattern(parameters.name(i));
        }
        return excluded;
    }

    private boolean matchesAnyPattern(String name) {
        for (int j = 0; j < excludePatterns.size(); j++) {
            Pattern glob = globs.get(j);
            String p = excludePatterns.get(j);
            if (glob != null ? glob.matcher(name).matches() : name.equals(p) || name.startsWith(p + ".")) {
                return true;
            }
        }
        return false;
    }

    private static String modulePrefix(String name) {
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(0, dot);
    }

    private static Pattern globPattern(String glob) {
        List<String> literals = new ArrayList<>();
        for (String literal : glob.split("\\*", -1)) {
            literals.add(Pattern.quote(literal));
        }
        return Pattern.compile(String.join(".*", literals));
    }
}
