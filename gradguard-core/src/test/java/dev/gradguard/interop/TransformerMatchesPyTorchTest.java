package dev.gradguard.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.CharTransformer;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.model.TransformerEncoderNet;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Transformers of {@code dev.gradguard.model} against their {@code torch.nn.Module} equivalents in
 * {@code scripts/transformer_check.py}, run by real PyTorch: the same weights (through safetensors, loaded
 * with {@code strict=True}) and input give the same output, loss and gradients to float32 tolerance.
 */
class TransformerMatchesPyTorchTest {
    /** Tolerance of float32 results computed in a different order: |a - b| <= ATOL + RTOL |b|. */
    private static final double ATOL = 1e-5;
    private static final double RTOL = 1e-4;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadNatives() {
        Torch.load();
    }

    @Test
    void theCausalCharTransformerMatchesPyTorchInOutputLossAndGradients() throws Exception {
        torch.manual_seed(11);
        CharTransformer model = new CharTransformer(13, 9, 16, 2, 4);
        Tensor tokens = torch.randint(13, new long[] {7, 3});
        Tensor target = torch.randint(13, new long[] {7, 3});
        assertMatches(model, "char:13:9:16:2:4", tokens, target, true);
    }

    @Test
    void theEncoderClassifierMatchesPyTorchInOutputLossAndGradients() throws Exception {
        torch.manual_seed(12);
        TransformerEncoderNet model = new TransformerEncoderNet(6, 12, 16, 2, 2, 4);
        Tensor sequence = torch.randn(10, 5, 6);
        Tensor target = torch.randint(4, new long[] {5});
        assertMatches(model, "encoder:6:12:16:2:2:4", sequence, target, true);
    }

    @Test
    void theEncoderRegressorMatchesPyTorchInOutputLossAndGradients() throws Exception {
        torch.manual_seed(13);
        TransformerEncoderNet model = new TransformerEncoderNet(2, 8, 8, 1, 1, 1);
        Tensor sequence = torch.rand(8, 4, 2);
        Tensor target = torch.rand(4, 1);
        assertMatches(model, "encoder:2:8:8:1:1:1", sequence, target, false);
    }

    private void assertMatches(Model model, String spec, Tensor input, Tensor target, boolean classes) throws Exception {
        Tensor output = model.forward(input);
        Tensor loss = classes ? torch.cross_entropy(output.reshape(-1, output.size(-1)), target.reshape(-1))
                : torch.mse_loss(output, target);
        loss.backward();
        Parameters parameters = Parameters.of(model.module());

        Path weights = dir.resolve("weights.safetensors");
        Path inputs = dir.resolve("inputs.safetensors");
        Path results = dir.resolve("results.safetensors");
        SafeTensors.write(weights, parameters, Map.of());
        SafeTensors.write(inputs, Parameters.of(List.of("input", "target"), List.of(input, target)), Map.of());
        JsonNode report = RealPython.runScript("safetensors", "transformer_check.py", spec, weights.toString(),
                inputs.toString(), results.toString());

        List<String> pythonNames = new ArrayList<>();
        report.get("names").forEach(n -> pythonNames.add(n.asText()));
        assertEquals(pythonNames, parameters.names());
        assertEquals(parameters.checksum(), report.get("param_checksum").asText());

        SafeTensorsFile python = SafeTensors.read(results);
        assertClose("output", python.tensor("output").orElseThrow(), output.detach());
        assertClose("loss", python.tensor("loss").orElseThrow(), loss.detach());
        for (int i = 0; i < parameters.size(); i++) {
            Tensor grad = parameters.get(i).grad();
            assertTrue(grad.abs().max().item_double() > 0, parameters.name(i) + " got no gradient");
            assertClose("grad." + parameters.name(i), python.tensor("grad." + parameters.name(i)).orElseThrow(), grad);
        }
    }

    private static void assertClose(String what, Tensor expected, Tensor actual) {
        assertArrayEquals(expected.sizes().vec().get(), actual.sizes().vec().get(), what + " shape");
        double[] e = Tensors.toDoubles(expected);
        double[] a = Tensors.toDoubles(actual);
        for (int i = 0; i < e.length; i++) {
            assertTrue(Math.abs(a[i] - e[i]) <= ATOL + RTOL * Math.abs(e[i]),
                    what + "[" + i + "]: gradguard " + a[i] + ", PyTorch " + e[i]);
        }
    }
}
