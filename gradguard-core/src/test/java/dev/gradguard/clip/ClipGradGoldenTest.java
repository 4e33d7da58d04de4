package dev.gradguard.clip;

import static dev.gradguard.clip.ClipGradFixtures.assertAllClose;
import static dev.gradguard.clip.ClipGradFixtures.assertClose;
import static dev.gradguard.clip.ClipGradFixtures.gradValues;
import static dev.gradguard.clip.ClipGradFixtures.param;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gradguard.engine.Tensors;
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
 * ClipGrad against golden values written by {@code scripts/golden/clip_golden.py} with real PyTorch (the
 * file's {@code reference} names the version; {@code scripts/golden/with-torch.sh} runs the script in a
 * Debian chroot that has it). float32 results must agree within 2 float32 ulps (rtol 2.4e-7), float64 ones
 * within 1e-12.
 */
@SuppressWarnings("try") // each case opens a PointerScope only to free its tensors
class ClipGradGoldenTest {
    private static final String RESOURCE = "/golden/clip_golden.json";

    @BeforeAll
    static void loadTorch() {
        Torch.load();
    }

    @TestFactory
    Stream<DynamicTest> goldenCases() throws IOException {
        JsonNode doc;
        try (InputStream in = ClipGradGoldenTest.class.getResourceAsStream(RESOURCE)) {
            assertNotNull(in, RESOURCE + " is missing: run scripts/golden/clip_golden.py");
            doc = new ObjectMapper().readTree(in);
        }
        String reference = doc.path("reference").asText();
        assertTrue(reference.startsWith("torch "), "the golden file must come from real PyTorch, got: " + reference);
        List<JsonNode> cases = new ArrayList<>();
        doc.path("cases").forEach(cases::add);
        assertTrue(cases.size() >= 40, "golden cases: " + cases.size());
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.path("name").asText() + " [" + reference + "]",
                () -> {
                    try (PointerScope scope = new PointerScope()) {
                        check(c);
                    }
                }));
    }

    private static void check(JsonNode c) {
        List<Tensor> params = new ArrayList<>();
        List<torch.ScalarType> dtypes = new ArrayList<>();
        for (JsonNode p : c.path("params")) {
            torch.ScalarType dtype = dtype(p.path("dtype").asText());
            dtypes.add(dtype);
            params.add(param(doubles(p.path("grad")), longs(p.path("shape")), dtype));
        }
        JsonNode expected = c.path("expected");
        String op = c.path("op").asText();
        // One float32 value anywhere (a gradient, or the float32 norm clipGradsWithNorm is given) makes the
        // coefficient, and so every clipped gradient, float32-accurate only.
        boolean allFloat64 = dtypes.stream().allMatch(d -> d == torch.ScalarType.Double);
        double rtol = allFloat64 && !op.equals("clip_grads_with_norm") ? 1e-12 : 2.4e-7; // 2 ulps of float32
        switch (op) {
            case "clip_grad_norm" -> {
                double normType = number(c.path("norm_type"));
                double maxNorm = number(c.path("max_norm"));
                boolean errorIfNonfinite = c.path("error_if_nonfinite").asBoolean();
                String raises = expected.path("raises").asText();
                if (raises.equals("non-finite")) {
                    NonFiniteNormException e = assertThrows(NonFiniteNormException.class,
                            () -> ClipGrad.clipGradNorm(params, maxNorm, normType, errorIfNonfinite));
                    assertTrue(e.getMessage().contains("order " + ClipGrad.pythonFloat(normType)), e.getMessage());
                } else if (raises.equals("empty")) {
                    // PyTorch: "_foreach_norm cannot compute the infinity norm on an empty tensor ..."
                    assertTrue(expected.path("error").asText().contains("empty tensor"), expected.toString());
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> ClipGrad.clipGradNorm(params, maxNorm, normType, errorIfNonfinite));
                    assertTrue(e.getMessage().contains("normType inf needs every gradient to have elements"),
                            e.getMessage());
                } else {
                    assertEquals("false", raises, "the golden file's raises field");
                    Tensor norm = ClipGrad.clipGradNorm(params, maxNorm, normType, errorIfNonfinite);
                    assertEquals(0, norm.dim(), "0-dim norm");
                    assertClose(number(expected.path("total_norm")), norm.item_double(), rtol, 0, "total norm");
                }
            }
            case "get_total_norm" -> {
                List<Tensor> grads = params.stream().map(Tensor::grad).toList();
                Tensor norm = ClipGrad.getTotalNorm(grads, number(c.path("norm_type")),
                        c.path("error_if_nonfinite").asBoolean());
                assertClose(number(expected.path("total_norm")), norm.item_double(), rtol, 0, "total norm");
            }
            case "clip_grads_with_norm" -> ClipGrad.clipGradsWithNorm(params, number(c.path("max_norm")),
                    Tensors.fromDoubles(new double[] {number(c.path("total_norm"))}).to(torch.ScalarType.Float));
            case "clip_grad_value" -> ClipGrad.clipGradValue(params, number(c.path("clip_value")));
            default -> throw new AssertionError("unknown op " + op);
        }
        JsonNode grads = expected.path("grads");
        if (!grads.isMissingNode()) {
            assertEquals(params.size(), grads.size(), "gradients in the golden file");
            for (int i = 0; i < params.size(); i++) {
                assertAllClose(doubles(grads.get(i)), gradValues(params.get(i)), rtol, Float.MIN_NORMAL,
                        "grad " + i);
            }
        }
    }

    private static torch.ScalarType dtype(String name) {
        return switch (name) {
            case "float32" -> torch.ScalarType.Float;
            case "float64" -> torch.ScalarType.Double;
            default -> throw new AssertionError("unknown dtype " + name);
        };
    }

    /** A number as the script writes it: a JSON number, or "nan", "inf", "-inf". */
    private static double number(JsonNode n) {
        if (n.isNumber()) {
            return n.asDouble();
        }
        return switch (n.asText()) {
            case "nan" -> Double.NaN;
            case "inf" -> Double.POSITIVE_INFINITY;
            case "-inf" -> Double.NEGATIVE_INFINITY;
            default -> throw new AssertionError("not a number: " + n);
        };
    }

    private static double[] doubles(JsonNode array) {
        if (array.isNull()) {
            return null;
        }
        return StreamSupport.stream(array.spliterator(), false).mapToDouble(ClipGradGoldenTest::number).toArray();
    }

    private static long[] longs(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToLong(JsonNode::asLong).toArray();
    }
}
