package dev.gradguard.clip;

import dev.gradguard.model.Parameters;
import dev.gradguard.state.StateMaps;
import dev.gradguard.state.Stateful;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.pytorch.Tensor;

/**
 * Gradient transforms applied in order, like Optax's {@code chain}: each sees the gradients as the
 * previous one left them. The pipeline measures the pre-clip 2-norm once and hands it down, so a norm
 * clipper reuses it instead of reducing the gradients again.
 *
 * <p>Two rules keep stateful transforms (norm histories, EMAs) honest: when the pre-clip norm is not
 * finite no transform runs (the guard skips the step), and when a transform asks to skip the step, the
 * transforms after it do not see it.
 *
 * <p>The pipeline's state holds, for each transform under the key {@code INDEX:NAME} (e.g. {@code 0:norm}), its
 * {@link GradientTransform#config() configuration} and its state. Restoring checks both: a checkpoint of another
 * chain, or of the same chain configured otherwise, is refused before anything changes.
 */
public final class GradientPipeline implements Stateful {
    private static final String CONFIG = "config";
    private static final String STATE = "state";

    private final List<GradientTransform> transforms;

    private GradientPipeline(List<GradientTransform> transforms) {
        this.transforms = List.copyOf(transforms);
    }

    /** A pipeline of the given transforms, applied left to right; none means gradients pass unchanged. */
    public static GradientPipeline of(GradientTransform... transforms) {
        return new GradientPipeline(List.of(transforms));
    }

    /** A pipeline of the given transforms, applied in list order. */
    public static GradientPipeline of(List<GradientTransform> transforms) {
        return new GradientPipeline(transforms);
    }

    public List<GradientTransform> transforms() {
        return transforms;
    }

    /** The transforms' {@link GradientTransform#name() names}, in order. */
    public List<String> names() {
        return transforms.stream().map(GradientTransform::name).toList();
    }

    /**
     * Runs every transform on the parameters' gradients.
     *
     * @param parameters the model's parameters
     * @param step the 0-based training step
     * @param loss the step's training loss
     * @return the pre-clip and post-clip 2-norms, the overall coefficient and each transform's report
     */
    public PipelineReport apply(Parameters parameters, long step, double loss) {
        return apply(parameters, GradientOps.of(parameters), step, loss);
    }

    /**
     * Runs every transform, with whole-set operations done through {@code ops} (e.g. over a
     * {@link GradBuffer} bound to the same parameters).
     */
    public PipelineReport apply(Parameters parameters, GradientOps ops, long step, double loss) {
        Tensor norm = ops.totalNorm(2.0);
        double preClip = norm.item_double();
        if (!Double.isFinite(preClip)) {
            // Nothing can be clipped sensibly and the guard will skip the step: leave the gradients as
            // they are (so the layers holding NaN or inf can still be found) and keep every transform's
            // history free of the value.
            return new PipelineReport(preClip, preClip, false, Optional.empty(), List.of());
        }
        double current = preClip;
        boolean clipped = false;
        List<TransformReport> reports = new ArrayList<>(transforms.size());
        for (GradientTransform transform : transforms) {
            TransformReport report = transform.apply(parameters, new GradientContext(step, loss, norm, current, ops));
            reports.add(report);
            clipped |= report.clipped();
            if (report.skipReason().isPresent()) {
                // the step will not be applied: later transforms must not learn from it
                return new PipelineReport(preClip, report.normAfter(), clipped, report.skipReason(), reports);
            }
            if (report.normAfter() != current || report.clipped()) {
                current = report.normAfter();
                norm = scalarLike(norm, current);
            }
        }
        return new PipelineReport(preClip, current, clipped, Optional.empty(), reports);
    }

    private static Tensor scalarLike(Tensor like, double value) {
        return like.new_full(new long[0], new org.bytedeco.pytorch.Scalar(value));
    }

    @Override
    public Map<String, Object> stateDict() {
        Map<String, Object> state = new LinkedHashMap<>();
        for (int i = 0; i < transforms.size(); i++) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put(CONFIG, transforms.get(i).config());
            entry.put(STATE, transforms.get(i).stateDict());
            state.put(key(i), entry);
        }
        return state;
    }

    /**
     * @throws IllegalArgumentException when the saved pipeline has other transforms, or one configured otherwise
     *     (nothing has changed then), or a transform rejects its state
     */
    @Override
    public void loadStateDict(Map<String, Object> state) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < transforms.size(); i++) {
            keys.add(key(i));
        }
        if (!keys.equals(new ArrayList<>(state.keySet()))) {
            throw new IllegalArgumentException("the saved gradient pipeline is " + state.keySet() + " but this one is "
                    + keys);
        }
        for (int i = 0; i < transforms.size(); i++) {
            Map<String, Object> saved = StateMaps.getMap(StateMaps.getMap(state, key(i)), CONFIG);
            Map<String, Object> current = transforms.get(i).config();
            if (!StateMaps.sameJson(saved, current)) {
                throw new IllegalArgumentException("transform " + key(i) + " was saved with " + saved
                        + " but is configured with " + current + " here");
            }
        }
        for (int i = 0; i < transforms.size(); i++) {
            transforms.get(i).loadStateDict(StateMaps.getMap(StateMaps.getMap(state, key(i)), STATE));
        }
    }

    private String key(int i) {
        return i + ":" + transforms.get(i).name();
    }
}
