package dev.gradguard.clip;

import static dev.gradguard.clip.ClipGradFixtures.gradValues;
import static dev.gradguard.clip.ClipGradFixtures.param;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gradguard.engine.Torch;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * ClipGrad's documented half/bfloat16 behaviour against real PyTorch, from golden values written by
 * {@code scripts/golden/clip_half_golden.py}: PyTorch accumulates in float32 (a {@code sum g^2} beyond
 * float16's range still gives a finite norm) but returns the norm in the gradient's dtype; ClipGrad returns
 * it in float32, so it agrees with the float64 norm to float32 precision and with PyTorch's to the
 * gradient dtype's rounding, and where PyTorch's norm overflows to inf (zeroing every gradient) ClipGrad's
 * stays finite and clips.
 */
@SuppressWarnings("try") // each case opens a PointerScope only to free its tensors
class ClipGradHalfPrecisionTest {
    private static final String RESOURCE = "/golden/clip_half_golden.json";

    @BeforeAll
    static void loadTorch() {
        Torch.load();
    }

    @TestFactory
    Stream<DynamicTest> halfAndBfloat16MatchTheDocumentedDeviation() throws IOException {
        JsonNode doc;
        try (InputStream in = getClass().getResourceAsStream(RESOURCE)) {
            assertNotNull(in, RESOURCE + " is missing: run scripts/golden/clip_half_golden.py");
            doc = new ObjectMapper().readTree(in);
        }
        String reference = doc.path("reference").asText();
        assertTrue(reference.startsWith("torch "), "the golden file must come from real PyTorch, got: " + reference);
        List<JsonNode> cases = new ArrayList<>();
        doc.path("cases").forEach(cases::add);
        assertEquals(5, cases.size(), "golden cases");
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.path("name").asText() + " [" + reference + "]",
                () -> {
                    try (PointerScope scope = new PointerScope()) {
                        check(c);
                    }
                }));
    }

    private static void check(JsonNode c) {
        boolean half = c.path("dtype").asText().equals("float16");
        torch.ScalarType dtype = half ? torch.ScalarType.Half : torch.ScalarType.BFloat16;
        double unitRoundoff = half ? 0x1p-11 : 0x1p-8;
        List<Tensor> params = new ArrayList<>();
        for (JsonNode p : c.path("params")) {
            params.add(param(doubles(p.path("grad")), longs(p.path("shape")), dtype));
        }
        double maxNorm = c.path("max_norm").asDouble();
        double exact = c.path("float64_norm").asDouble();
        assertEquals(c.path("dtype").asText(), c.path("torch_norm_dtype").asText(),
                "PyTorch returns the norm in the gradients' dtype");

        Tensor norm = ClipGrad.clipGradNorm(params, maxNorm);
        assertEquals(torch.ScalarType.Float, norm.scalar_type().intern(), "ClipGrad's norm is float32");
        assertEquals(exact, norm.item_double(), exact * 1e-6, "ClipGrad's norm, accumulated in float32");

        double coef = Math.min(1, maxNorm / (exact + 1e-6));
        String torchNorm = c.path("torch_norm").asText();
        if (torchNorm.equals("inf")) {
            // the documented deviation: PyTorch's float16 norm overflows and its coefficient 0 zeroes everything
            for (JsonNode g : c.path("torch_grads")) {
                g.forEach(x -> assertEquals(0.0, Math.abs(x.asDouble()), "PyTorch zeroes every gradient"));
            }
        } else {
            double theirs = Double.parseDouble(torchNorm);
            assertEquals(theirs, norm.item_double(), theirs * unitRoundoff, "PyTorch's norm, rounded to its dtype");
        }
        for (int i = 0; i < params.size(); i++) {
            double[] ours = gradValues(params.get(i));
            double[] before = doubles(c.path("params").get(i).path("grad"));
            double[] theirs = doubles(c.path("torch_grads").get(i));
            for (int j = 0; j < ours.length; j++) {
                double expected = before[j] * coef;
                assertEquals(expected, ours[j], Math.abs(expected) * 2 * unitRoundoff + 1e-12,
                        "grad " + i + "[" + j + "] clipped to maxNorm");
                if (!torchNorm.equals("inf")) {
                    assertEquals(theirs[j], ours[j], Math.abs(theirs[j]) * 4 * unitRoundoff + 1e-12,
                            "grad " + i + "[" + j + "] as PyTorch clips it, to its dtype's last bit");
                }
            }
        }
    }

    private static double[] doubles(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false)
                .mapToDouble(n -> n.isNumber() ? n.asDouble() : Double.parseDouble(n.asText())).toArray();
    }

    private static long[] longs(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToLong(JsonNode::asLong).toArray();
    }
}
