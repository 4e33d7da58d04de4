package dev.gradguard.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class AdaptivePolicySpecsTest {

    private static String canonical(String spec) {
        return ClipPolicies.parse(spec).spec();
    }

    private static String error(String spec) {
        return assertThrows(IllegalArgumentException.class, () -> ClipPolicies.parse(spec)).getMessage();
    }

    @Test
    void specsParseToTheirShortestCanonicalForm() {
        assertEquals("agc:0.01", canonical("agc:0.01"));
        assertEquals("agc:0.01", canonical("agc:0.01:0.001"));
        assertEquals("agc:0.01", canonical("agc:0.01:0.001:final"));
        assertEquals("agc:0.02:1.0E-4", canonical("agc:0.02:1e-4"));
        assertEquals("agc:0.01:0.001:none", canonical("agc:0.01:1e-3:none"));
        assertEquals("agc:0.01:0.001:final+*.bias+embed", canonical("agc:0.01:0.001:final+*.bias+embed"));
        assertEquals("agc:0.01:0.001:embed", canonical("agc:0.01:0.001:embed"));
        assertEquals("autoclip:10.0", canonical("autoclip:10"));
        assertEquals("autoclip:10.0:500", canonical("autoclip:10:500"));
        assertEquals("zclip", canonical("zclip"));
        assertEquals("zclip", canonical("zclip:2.5"));
        assertEquals("zclip:2.0", canonical("zclip:2.0"));
        assertEquals("zclip:2.0:alpha=0.9:max=inf:eps=1.0E-5:warmup=50:option=mean:factor=0.8",
                canonical("zclip:2:factor=0.8:option=mean:warmup=50:eps=1e-5:max=inf:alpha=0.9"));
        assertEquals("spike:6.0", canonical("spike"));
        assertEquals("spike:6.0", canonical("spike:6:128:64"));
        assertEquals("spike:4.0:100", canonical("spike:4:100"));
        assertEquals("spike:4.0:100:100", canonical("spike:4:100:100"));
        assertEquals("loss-spike:5.0:64:10", canonical("loss-spike:5:64:10"));
        assertEquals("spike-abs:50.0", canonical("spike-abs:50"));
        assertEquals("spike:6.0,zclip", canonical("spike:6, zclip"));
        assertEquals("loss-spike:6.0,agc:0.01,autoclip:10.0,norm:1.0", canonical("loss-spike,agc:0.01,autoclip:10,norm:1"));
    }

    @Test
    void everyCanonicalSpecParsesBackToTheSameConfiguration() {
        for (String spec : List.of("agc:0.05:0.01:final+head.*", "autoclip:5:7", "zclip:3:max=2:option=mean",
                "spike:3:10:5", "loss-spike:4", "spike-abs:9", "spike:6,zclip:2.0,autoclip:10")) {
            String once = canonical(spec);
            assertEquals(once, canonical(once), spec);
        }
        ZClip z = (ZClip) ClipPolicies.parse("zclip:3:max=2:option=mean").transforms().get(0);
        assertEquals(ZClip.Options.defaults().withZThresh(3).withMaxGradNorm(2).withClipOption(ZClip.ClipOption.MEAN),
                z.options());
        AgcClip agc = (AgcClip) ClipPolicies.parse("agc:0.05:0.01:final+head.*").transforms().get(0);
        assertEquals(List.of("head.*"), agc.excludePatterns());
        assertEquals(true, agc.excludesFinalLayer());
        SpikeGuard loss = (SpikeGuard) ClipPolicies.parse("loss-spike:4").transforms().get(0);
        assertEquals(SpikeGuard.Signal.LOSS, loss.signal());
        assertEquals(64, loss.minSamples());
        assertInstanceOf(ThresholdClip.class, ClipPolicies.parse("zclip").transforms().get(0));
    }

    @Test
    void badSpecsNameThePartAndWhatIsAllowed() {
        assertEquals("clip policy 'agc': agc takes 1 to 3 argument(s) (agc:FACTOR[:EPS[:EXCLUDE]]), got 0",
                error("agc"));
        assertEquals("clip policy 'agc:-1': FACTOR must be a finite number > 0, got -1.0", error("agc:-1"));
        assertEquals("clip policy 'agc:0.01:0.001:final+': an exclusion pattern must be non-empty without ',', ':' or '+', "
                + "got ''", error("agc:0.01:0.001:final+"));
        assertEquals("clip policy 'autoclip:101': P must be a percentile in [0, 100], got 101.0", error("autoclip:101"));
        assertEquals("clip policy 'autoclip:10:0': WINDOW must be an integer >= 1, got 0", error("autoclip:10:0"));
        assertEquals("clip policy 'autoclip': autoclip takes 1 to 2 argument(s) (autoclip:P[:WINDOW]), got 0",
                error("autoclip"));
        assertEquals("clip policy 'zclip:2:foo=1': unknown key 'foo' (allowed: alpha, max, eps, warmup, option, factor)",
                error("zclip:2:foo=1"));
        assertEquals("clip policy 'zclip:2:option=median': option must be adaptive_scaling or mean, got 'median'",
                error("zclip:2:option=median"));
        assertEquals("clip policy 'zclip:2:warmup': 'warmup' must be KEY=VALUE with KEY one of alpha, max, eps, "
                + "warmup, option, factor", error("zclip:2:warmup"));
        assertEquals("clip policy 'zclip:2:max=1:MAX=2': key 'MAX' is given twice", error("zclip:2:max=1:MAX=2"));
        assertEquals("clip policy 'zclip:0': Z must be a finite number > 0, got 0.0", error("zclip:0"));
        assertEquals("clip policy 'spike:6:1': WINDOW must be an integer >= 2, got 1", error("spike:6:1"));
        assertEquals("clip policy 'spike:6:10:20': MIN_SAMPLES must be an integer in [2, WINDOW = 10], got 20",
                error("spike:6:10:20"));
        assertEquals("clip policy 'spike-abs': spike-abs takes 1 argument(s) (spike-abs:THRESHOLD), got 0",
                error("spike-abs"));
        assertEquals("unknown clip policy 'zclp' in 'spike:6,zclp' (allowed: " + ClipPolicies.ALLOWED + ")",
                error("spike:6,zclp"));
    }
}
