package dev.gradguard.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradguard.clip.ClipPolicies;
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
    private static final GradientPipeline ZCLIP = ClipPolicies.parse("spike:6,zclip:2.0:max=2");

    @BeforeAll
    static void load() {
        Torch.load();
    }

    private static String error(String spec, GradientPipeline pipeline) {
        return assertThrows(IllegalArgumentException.class, () -> Controllers.parse(spec, pipeline)).getMessage();
    }

    @Test
    void autoUsesTheDefaultsAndSpecsListOnlyWhatDiffers() {
        AutoController auto = (AutoController) Controllers.parse("auto", ZCLIP);
        assertEquals(AutoController.Options.defaults(), auto.options());
        assertEquals("auto", auto.spec());
        assertEquals("auto", Controllers.parse("auto:N=20,factor=0.5,floor=0.01,M=200,relax=1.5,cap=4", ZCLIP).spec());
        Controller custom = Controllers.parse(" auto:n=10, factor=0.25 ,M=50,cap=2,cv=inf,warmup=0,near=0.8 ", ZCLIP);
        assertEquals("auto:N=10,factor=0.25,near=0.8,M=50,warmup=0,cap=2.0,cv=inf", custom.spec());
        assertEquals(custom.spec(), Controllers.parse(custom.spec(), ZCLIP).spec());
        assertEquals(new AutoController.Options(10, 0.25, 0.01, 0.8, 50, 0, 1.5, 2.0, Double.POSITIVE_INFINITY),
                ((AutoController) custom).options());
    }

    @Test
    void autoActsOnTheFirstThresholdClipOfThePipeline() {
        AutoController auto = (AutoController) Controllers.parse("auto:M=2,warmup=0", ZCLIP);
        ZClip zclip = (ZClip) ZCLIP.transforms().get(1);
        assertEquals(2.0, auto.initialThreshold());
        PipelineReport calm = new PipelineReport(0.5, 0.5, false, Optional.empty(), List.of());
        auto.observe(0, calm, true);
        assertEquals(ControlDecision.Kind.RELAX_THRESHOLD, auto.observe(1, calm, true).get(0).kind());
        assertEquals(3.0, zclip.threshold());
        assertEquals("spike:6.0,zclip:2.0:max=2.0", ZCLIP.spec());
        assertEquals(3.0, ((Number) ((Map<?, ?>) ZCLIP.stateDict().get("1:zclip:2.0:max=2.0")).get("max_grad_norm"))
                .doubleValue());
    }

    @Test
    void noneChangesNothing() {
        Controller none = Controllers.parse("none", ZCLIP);
        assertSame(Controllers.none(), none);
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
    void badSpecsNameThePartAndWhatIsAllowed() {
        String allowed = " (allowed: " + Controllers.ALLOWED + ")";
        assertEquals("unknown controller 'fancy'" + allowed, error("fancy", ZCLIP));
        assertEquals("controller 'auto:N=0': N must be an integer >= 1, got 0" + allowed, error("auto:N=0", ZCLIP));
        assertEquals("controller 'auto:X=1': unknown key 'X'" + allowed, error("auto:X=1", ZCLIP));
        assertEquals("controller 'auto:N': 'N' must be KEY=VALUE" + allowed, error("auto:N", ZCLIP));
        assertEquals("controller 'auto:N=3,n=4': key 'n' is given twice" + allowed, error("auto:N=3,n=4", ZCLIP));
        assertEquals("controller 'auto:floor=low': floor must be a number, got 'low'" + allowed,
                error("auto:floor=low", ZCLIP));
        assertEquals("controller 'auto' needs a clip policy with a threshold it can act on (e.g. zclip), but the clip "
                + "policy is 'agc:0.01,spike:6.0'", error("auto", ClipPolicies.parse("agc:0.01,spike:6")));
    }
}
