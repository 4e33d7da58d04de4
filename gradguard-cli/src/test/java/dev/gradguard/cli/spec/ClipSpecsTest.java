package dev.gradguard.cli.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradguard.clip.AbsoluteSpikeGuard;
import dev.gradguard.clip.AgcClip;
import dev.gradguard.clip.GradientTransform;
import dev.gradguard.clip.SpikeGuard;
import dev.gradguard.clip.ThresholdClip;
import dev.gradguard.clip.ZClip;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each spec against the library object it must build: its kind and its configuration by parameter name. */
class ClipSpecsTest {

    private static List<GradientTransform> parse(String spec) {
        return ClipSpecs.parse(spec).transforms();
    }

    private static GradientTransform one(String spec) {
        List<GradientTransform> transforms = parse(spec);
        assertEquals(1, transforms.size(), spec);
        return transforms.get(0);
    }

    private static String error(String spec) {
        return assertThrows(IllegalArgumentException.class, () -> ClipSpecs.parse(spec)).getMessage();
    }

    @Test
    void normAndValueSpecsBuildTheirPolicies() {
        assertEquals(List.of(), parse("none"));
        assertEquals(List.of(), parse(" NONE "));
        assertEquals(Map.of("maxNorm", 1.0, "normType", 2.0), one("norm:1").config());
        assertEquals(Map.of("maxNorm", 2.5, "normType", "Infinity"), one("norm:2.5:inf").config());
        assertEquals(Map.of("maxNorm", 1.0, "normType", 1.0), one("norm:1:1").config());
        List<GradientTransform> chain = parse(" value:0.5 , norm:1.0 ");
        assertEquals(List.of("value", "norm"), chain.stream().map(GradientTransform::name).toList());
        assertEquals(Map.of("clipValue", 0.5), chain.get(0).config());
    }

    @Test
    void agcSpecsFillInTheDefaultsAndReadTheExclusions() {
        assertEquals(Map.of("clipFactor", 0.01, "eps", 1e-3, "excludeFinalLayer", true, "excludePatterns", List.of()),
                one("agc:0.01").config());
        assertEquals(one("agc:0.01").config(), one("agc:0.01:0.001:final").config());
        assertEquals(1e-4, one("agc:0.02:1e-4").config().get("eps"));
        AgcClip none = (AgcClip) one("agc:0.01:1e-3:none");
        assertEquals(false, none.excludesFinalLayer());
        assertEquals(List.of(), none.excludePatterns());
        AgcClip some = (AgcClip) one("agc:0.01:0.001:final+*.bias+embed");
        assertEquals(true, some.excludesFinalLayer());
        assertEquals(List.of("*.bias", "embed"), some.excludePatterns());
        AgcClip notFinal = (AgcClip) one("agc:0.05:0.01:head.*");
        assertEquals(false, notFinal.excludesFinalLayer());
        assertEquals(List.of("head.*"), notFinal.excludePatterns());
    }

    @Test
    void adaptiveSpecsBuildTheirPoliciesWithTheAuthorsDefaults() {
        assertEquals(Map.of("percentile", 10.0, "window", 0), one("autoclip:10").config());
        assertEquals(Map.of("percentile", 10.0, "window", 500), one("autoclip:10:500").config());
        assertEquals(ZClip.Options.defaults(), ((ZClip) one("zclip")).options());
        assertEquals(ZClip.Options.defaults(), ((ZClip) one("zclip:2.5")).options());
        assertEquals(new ZClip.Options(0.9, 2.0, Double.POSITIVE_INFINITY, 1e-5, 50, ZClip.ClipOption.MEAN, 0.8),
                ((ZClip) one("zclip:2:factor=0.8:option=mean:warmup=50:eps=1e-5:max=inf:alpha=0.9")).options());
        assertInstanceOf(ThresholdClip.class, one("zclip"));
        SpikeGuard spike = (SpikeGuard) one("spike");
        assertEquals(List.of(SpikeGuard.Signal.GRAD_NORM, 6.0, 128, 64),
                List.of(spike.signal(), spike.k(), spike.window(), spike.minSamples()));
        assertEquals(Map.of("k", 4.0, "window", 100, "minSamples", 50), one("spike:4:100").config());
        assertEquals(Map.of("k", 4.0, "window", 100, "minSamples", 100), one("spike:4:100:100").config());
        SpikeGuard loss = (SpikeGuard) one("loss-spike:5:64:10");
        assertEquals("loss-spike", loss.name());
        assertEquals(SpikeGuard.Signal.LOSS, loss.signal());
        assertEquals(10, loss.minSamples());
        assertEquals(50.0, ((AbsoluteSpikeGuard) one("spike-abs:50")).threshold());
        assertEquals(List.of("loss-spike", "agc", "autoclip", "norm"),
                parse("loss-spike,agc:0.01,autoclip:10,norm:1").stream().map(GradientTransform::name).toList());
    }

    @Test
    void badSpecsNameThePartAndWhatIsAllowedInTheSpecsOwnWords() {
        assertEquals("clip policy is empty (allowed: " + ClipSpecs.ALLOWED + ")", error(" "));
        assertEquals("unknown clip policy 'nrom:1' (allowed: " + ClipSpecs.ALLOWED + ")", error("nrom:1"));
        assertEquals("clip policy 'norm:-1': MAX must be a number >= 0 (0 zeroes every gradient, "
                + "Double.POSITIVE_INFINITY never clips a finite norm), got -1.0", error("norm:-1"));
        assertEquals("clip policy 'value:-1': V must be a number >= 0 (gradients are clamped to [-V, V]), got -1.0",
                error("value:-1"));
        assertEquals("clip policy 'value:big': V must be a number, got 'big'", error("value:big"));
        assertEquals("unknown clip policy 'foo' in 'norm:1,foo' (allowed: " + ClipSpecs.ALLOWED + ")",
                error("norm:1,foo"));
        assertEquals("clip policy 'agc': agc takes 1 to 3 argument(s) (agc:FACTOR[:EPS[:EXCLUDE]]), got 0",
                error("agc"));
        assertEquals("clip policy 'agc:-1': FACTOR must be a finite number > 0, got -1.0", error("agc:-1"));
        assertEquals("clip policy 'agc:0.01:0': EPS must be a finite number > 0, got 0.0", error("agc:0.01:0"));
        assertEquals("clip policy 'agc:0.01:0.001:final+': EXCLUDE has an empty item in 'final+'",
                error("agc:0.01:0.001:final+"));
        assertEquals("clip policy 'agc:0.01:0.001:embed+none': 'none' is a keyword, not a pattern; write 'none.*' to "
                + "exclude a module of that name", error("agc:0.01:0.001:embed+none"));
        assertEquals("clip policy 'autoclip:101': P must be in [0, 100], got 101.0", error("autoclip:101"));
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
        assertEquals("clip policy 'zclip:2:max=-1': max must be a number >= 0 or infinity, got -1.0",
                error("zclip:2:max=-1"));
        assertEquals("clip policy 'zclip:2:factor=0': factor must be a finite number > 0, got 0.0",
                error("zclip:2:factor=0"));
        assertEquals("clip policy 'spike:0': K must be a finite number > 0, got 0.0", error("spike:0"));
        assertEquals("clip policy 'spike:6:1': WINDOW must be an integer >= 2, got 1", error("spike:6:1"));
        assertEquals("clip policy 'spike:6:10:20': MIN_SAMPLES must be in [2, WINDOW = 10], got 20",
                error("spike:6:10:20"));
        assertEquals("clip policy 'spike-abs': spike-abs takes 1 argument(s) (spike-abs:THRESHOLD), got 0",
                error("spike-abs"));
        assertEquals("clip policy 'spike-abs:-1': THRESHOLD must be a number >= 0, got -1.0", error("spike-abs:-1"));
        assertEquals("unknown clip policy 'zclp' in 'spike:6,zclp' (allowed: " + ClipSpecs.ALLOWED + ")",
                error("spike:6,zclp"));
    }
}
