package dev.gradguard.cli.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradguard.clip.Clip;
import dev.gradguard.clip.GradientPipeline;
import dev.gradguard.clip.ZClip;
import dev.gradguard.control.AutoController;
import dev.gradguard.control.Controllers;
import dev.gradguard.engine.Torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ControllerSpecsTest {
    private static final String ALLOWED = " (allowed: " + ControllerSpecs.ALLOWED + ")";

    @BeforeAll
    static void load() {
        Torch.load();
    }

    private static GradientPipeline zclip() {
        return Clip.chain(Clip.spike(6), Clip.zclip(ZClip.Options.defaults().withZThresh(2.0).withMaxGradNorm(2.0)));
    }

    private static AutoController.Options options(String spec) {
        return ((AutoController) ControllerSpecs.parse(spec, zclip())).options();
    }

    private static String error(String spec, GradientPipeline pipeline) {
        return assertThrows(IllegalArgumentException.class, () -> ControllerSpecs.parse(spec, pipeline)).getMessage();
    }

    @Test
    void specsBuildTheOptionsTheyName() {
        assertSame(Controllers.none(), ControllerSpecs.parse(" none ", zclip()));
        assertEquals(AutoController.Options.defaults(), options("auto"));
        assertEquals(AutoController.Options.defaults(), options("auto:N=20,factor=0.5,floor=0.01,M=200,relax=1.5,cap=4"));
        assertEquals(new AutoController.Options(10, 0.25, 0.01, 0.8, 50, 0, 1.5, 2.0, Double.POSITIVE_INFINITY),
                options(" auto:n=10, factor=0.25 ,M=50,cap=2,cv=inf,warmup=0,near=0.8 "));
    }

    @Test
    void autoActsOnThePipelinesZclip() {
        GradientPipeline pipeline = zclip();
        AutoController auto = (AutoController) ControllerSpecs.parse("auto", pipeline);
        ((ZClip) pipeline.transforms().get(1)).setThreshold(3.0);
        auto.loadStateDict(auto.stateDict());
        assertEquals(3.0, ((ZClip) pipeline.transforms().get(1)).threshold());
        assertEquals(2.0, auto.initialThreshold());
    }

    @Test
    void badSpecsNameThePartInTheSpecsOwnWordsAndWhatIsAllowed() {
        assertEquals("unknown controller 'fancy'" + ALLOWED, error("fancy", zclip()));
        assertEquals("controller 'auto:N=0': N must be >= 1, got 0" + ALLOWED, error("auto:N=0", zclip()));
        assertEquals("controller 'auto:factor=1': factor must be in (0, 1), got 1.0" + ALLOWED,
                error("auto:factor=1", zclip()));
        assertEquals("controller 'auto:M=1': M must be >= 2, got 1" + ALLOWED, error("auto:M=1", zclip()));
        assertEquals("controller 'auto:X=1': unknown key 'X'" + ALLOWED, error("auto:X=1", zclip()));
        assertEquals("controller 'auto:N': 'N' must be KEY=VALUE" + ALLOWED, error("auto:N", zclip()));
        assertEquals("controller 'auto:N=3,n=4': key 'n' is given twice" + ALLOWED, error("auto:N=3,n=4", zclip()));
        assertEquals("controller 'auto:floor=low': floor must be a number, got 'low'" + ALLOWED,
                error("auto:floor=low", zclip()));
        assertEquals("controller 'auto': the auto controller needs a clip policy with a threshold it can act on "
                + "(norm or zclip), but the pipeline has none: its transforms are agc, spike",
                error("auto", ClipSpecs.parse("agc:0.01,spike:6")));
    }
}
