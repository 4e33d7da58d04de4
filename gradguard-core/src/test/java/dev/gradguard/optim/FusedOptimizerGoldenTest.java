package dev.gradguard.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Parameters;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * gradguard's SGD, Adam and AdamW against real PyTorch 2.13 ({@code scripts/golden/optimizer_golden.py}): four
 * steps at a learning rate that changes every step, with parameters that get no gradient in some steps (one of
 * them none in the first). Where PyTorch's fused kernel can run the case, the parameters must match it bit for
 * bit; elsewhere they must match PyTorch's default implementation to float32 rounding.
 */
class FusedOptimizerGoldenTest {
    private static final String RESOURCE = "/golden/optimizer_golden.json";
    private static JsonNode golden;
    private static List<String> names;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws IOException {
        Torch.load();
        Torch.setThreads(1);
        try (InputStream in = FusedOptimizerGoldenTest.class.getResourceAsStream(RESOURCE)) {
            assertNotNull(in, RESOURCE + " is missing: run scripts/golden/optimizer_golden.py");
            golden = JsonMapper.builder().build().readTree(in);
        }
        assertTrue(golden.get("reference").asText().startsWith("torch "), "the golden file must come from PyTorch");
        names = new ArrayList<>();
        golden.get("shapes").fieldNames().forEachRemaining(names::add);
    }

    static JsonNode golden() {
        return golden;
    }

    static Stream<Integer> cases() throws IOException {
        load();
        return IntStream.range(0, golden.get("cases").size()).boxed();
    }

    /** The configuration of a case, as gradguard spells it. */
    static OptimizerSpec spec(JsonNode c) {
        JsonNode o = c.get("options");
        String name = c.get("optimizer").asText();
        OptimizerSpec spec = OptimizerSpec.defaults(name, o.get("lr").asDouble());
        if (o.has("weight_decay")) {
            spec = spec.withWeightDecay(o.get("weight_decay").asDouble());
        }
        if (o.has("momentum")) {
            spec = spec.withMomentum(o.get("momentum").asDouble());
        }
        if (o.has("dampening")) {
            spec = spec.withDampening(o.get("dampening").asDouble());
        }
        if (o.has("nesterov")) {
            spec = spec.withNesterov(o.get("nesterov").asBoolean());
        }
        if (o.has("betas")) {
            spec = spec.withBetas(o.get("betas").get(0).asDouble(), o.get("betas").get(1).asDouble());
        }
        if (o.has("eps")) {
            spec = spec.withEps(o.get("eps").asDouble());
        }
        return spec;
    }

    /** Fresh parameters at the golden initial values. */
    static Parameters initial() {
        List<Tensor> tensors = new ArrayList<>();
        for (String name : names) {
            tensors.add(Tensors.fromFloats(floats(golden.get("initial").get(name)), shape(name)).requires_grad_(true));
        }
        return Parameters.of(names, tensors);
    }

    /**
     * Sets step {@code step}'s gradients (undefined for the parameters without one) and returns those withheld.
     */
    static BitSet setGradients(Parameters params, int step) {
        BitSet withheld = new BitSet();
        JsonNode grads = golden.get("grads").get(step);
        for (int i = 0; i < names.size(); i++) {
            if (grads.has(names.get(i))) {
                params.get(i).mutable_grad().put(Tensors.fromFloats(floats(grads.get(names.get(i))), shape(names.get(i))));
            } else {
                params.get(i).mutable_grad().put(new Tensor());
                withheld.set(i);
            }
        }
        return withheld;
    }

    static double lr(JsonNode c, int step) {
        return c.get("options").get("lr").asDouble() * golden.get("lr_factors").get(step).asDouble();
    }

    static int steps() {
        return golden.get("grad_pattern").size();
    }

    @ParameterizedTest(name = "case {0}")
    @MethodSource("cases")
    void everyStepMatchesPyTorch(int index) throws IOException {
        JsonNode c = golden.get("cases").get(index);
        Parameters params = initial();
        FusedOptimizer optimizer = Optimizers.create(spec(c), params);
        for (int step = 0; step < steps(); step++) {
            BitSet withheld = setGradients(params, step);
            assertTrue(optimizer.checkedStep(lr(c, step), withheld).isEmpty());
            assertMatches(c, step, params);
        }
        Map<String, float[]> state = OptimizerStates.values(OptimizerStates.roundTrip(optimizer, tmp));
        JsonNode expected = (c.get("fused").isNull() ? c.get("default") : c.get("fused")).get("state");
        int slots = 0;
        for (int i = 0; i < names.size(); i++) {
            JsonNode want = expected.get(names.get(i));
            if (want == null) {
                continue;
            }
            for (var slot = want.fieldNames(); slot.hasNext(); slots++) {
                String s = slot.next();
                float[] got = state.get(i + "/" + s);
                assertNotNull(got, s + " of " + names.get(i) + " was not saved");
                assertArrayEquals(floats(want.get(s)), got, c.get("fused").isNull() ? 1e-6f : 0f,
                        c + " " + s + " of " + names.get(i));
            }
        }
        assertEquals(slots, state.size(), "PyTorch and gradguard keep the same state tensors");
    }

    /** The parameters after {@code step}: bit for bit those of PyTorch's fused kernel where it runs the case. */
    static void assertMatches(JsonNode c, int step, Parameters params) {
        boolean fused = !c.get("fused").isNull();
        JsonNode want = (fused ? c.get("fused") : c.get("default")).get("params_after_step").get(step);
        for (int i = 0; i < names.size(); i++) {
            assertArrayEquals(floats(want.get(names.get(i))), Tensors.toFloats(params.get(i).detach()),
                    fused ? 0f : 1e-6f, c.get("optimizer") + " " + c.get("options") + " step " + step + " " + names.get(i));
        }
    }

    static float[] floats(JsonNode array) {
        float[] values = new float[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) array.get(i).asDouble();
        }
        return values;
    }

    static long[] shape(String name) {
        JsonNode s = golden.get("shapes").get(name);
        long[] shape = new long[s.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = s.get(i).asLong();
        }
        return shape;
    }
}
