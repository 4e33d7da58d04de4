package dev.gradguard.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradguard.clip.Clip;
import dev.gradguard.clip.GradientPipeline;
import dev.gradguard.clip.PipelineReport;
import dev.gradguard.clip.ZClip;
import dev.gradguard.engine.Torch;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ControllersTest {

    @BeforeAll
    static void load() {
        Torch.load();
    }

    private static GradientPipeline spikeThenZclip() {
        return Clip.chain(Clip.spike(6), Clip.zclip(ZClip.Options.defaults().withZThresh(2.0).withMaxGradNorm(2.0)));
    }

    @Test
    void autoUsesTheDefaults() {
        AutoController auto = (AutoController) Controllers.auto(spikeThenZclip());
        assertEquals(AutoController.Options.defaults(), auto.options());
    }

    @Test
    void autoActsOnTheFirstThresholdClipOfThePipeline() {
        GradientPipeline pipeline = spikeThenZclip();
        AutoController auto = (AutoController) Controllers.auto(pipeline,
                new AutoController.Options(20, 0.5, 0.01, 0.9, 2, 0, 1.5, 4.0, 0.5));
        ZClip zclip = (ZClip) pipeline.transforms().get(1);
        assertEquals(2.0, auto.initialThreshold());
        PipelineReport calm = new PipelineReport(0.5, 0.5, false, Optional.empty(), List.of());
        auto.observe(0, calm, true);
        assertEquals(ControlDecision.Kind.RELAX_THRESHOLD, auto.observe(1, calm, true).get(0).kind());
        assertEquals(3.0, zclip.threshold());
        Map<?, ?> saved = (Map<?, ?>) ((Map<?, ?>) pipeline.stateDict().get("1:zclip")).get("state");
        assertEquals(3.0, ((Number) saved.get("max_grad_norm")).doubleValue());
        assertEquals(2.0, ((Map<?, ?>) ((Map<?, ?>) pipeline.stateDict().get("1:zclip")).get("config"))
                .get("maxGradNorm"), "the configuration keeps the configured threshold");
    }

    @Test
    void noneChangesNothing() {
        Controller none = Controllers.none();
        PipelineReport huge = new PipelineReport(1e9, 1.0, true, Optional.empty(), List.of());
        for (int i = 0; i < 100; i++) {
            assertEquals(List.of(), none.observe(i, huge, true));
        }
        assertEquals(1.0, none.lrScale());
        assertEquals(Map.of(), none.stateDict());
        none.loadStateDict(Map.of());
        assertThrows(IllegalArgumentException.class, () -> none.loadStateDict(Map.of("lr_scale", 0.5)));
    }

    @Test
    void autoWithoutAThresholdToActOnSaysWhatThePipelineHas() {
        assertEquals("the auto controller needs a clip policy with a threshold it can act on (norm or zclip), but "
                + "the pipeline has none: its transforms are agc, spike",
                assertThrows(IllegalArgumentException.class,
                        () -> Controllers.auto(Clip.chain(Clip.agc(0.01), Clip.spike(6)))).getMessage());
        assertEquals("the auto controller needs a clip policy with a threshold it can act on (norm or zclip), but "
                + "the pipeline has none: it is empty",
                assertThrows(IllegalArgumentException.class, () -> Controllers.auto(Clip.none())).getMessage());
    }

    @Test
    void badOptionsNameTheParameter() {
        assertEquals("nearSteps must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> new AutoController.Options(0, 0.5, 0.01, 0.9, 200, 100, 1.5, 4.0, 0.5)).getMessage());
        assertEquals("lrFactor must be in (0, 1), got 1.0", assertThrows(IllegalArgumentException.class,
                () -> new AutoController.Options(20, 1.0, 0.01, 0.9, 200, 100, 1.5, 4.0, 0.5)).getMessage());
    }
}
