package dev.gradguard.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.interop.RealPython;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A GRU classifier scripted and saved by real PyTorch 2.13 ({@code scripts/scripted_model.py}). */
class TorchScriptModelTest {
    private static final int BATCH = 3;
    private static final int LENGTH = 5;
    private static final int INPUTS = 6;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        Torch.load();
    }

    /** linspace(-1, 1, B*T*F).reshape(B, T, F), the script's reference input. */
    private static Tensor referenceInput() {
        return torch.linspace(new org.bytedeco.pytorch.Scalar(-1.0), new org.bytedeco.pytorch.Scalar(1.0),
                BATCH * LENGTH * INPUTS).reshape(BATCH, LENGTH, INPUTS);
    }

    private JsonNode save(Path file, String... options) throws Exception {
        List<String> args = new ArrayList<>(List.of("save", file.toString(), "--batch", "" + BATCH, "--length", "" + LENGTH));
        args.addAll(List.of(options));
        return RealPython.runScript("torch", "scripted_model.py", args.toArray(new String[0]));
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    @Test
    void parametersForwardAndGradientsMatchPyTorch() throws Exception {
        Path file = dir.resolve("gru.pt");
        JsonNode expected = save(file);
        TorchScriptModel model = TorchScriptModel.load(file);
        Parameters parameters = Parameters.of(model.module());

        List<String> names = new ArrayList<>();
        expected.get("names").forEach(n -> names.add(n.asText()));
        assertEquals(names, parameters.names());
        for (int i = 0; i < parameters.size(); i++) {
            long[] shape = new long[expected.get("shapes").get(i).size()];
            for (int d = 0; d < shape.length; d++) {
                shape[d] = expected.get("shapes").get(i).get(d).asLong();
            }
            assertArrayEquals(shape, parameters.get(i).sizes().vec().get(), names.get(i));
        }

        Tensor out = model.forward(referenceInput());
        assertArrayEquals(new long[] {BATCH, 4}, out.sizes().vec().get());
        assertArrayEquals(floats(expected.get("output")), Tensors.toFloats(out), 1e-5f);

        out.square().sum().backward();
        for (int i = 0; i < parameters.size(); i++) {
            // the gradients backward filled are those of the tensors the optimizer will update
            assertArrayEquals(floats(expected.get("grads").get(names.get(i))),
                    Tensors.toFloats(parameters.get(i).grad()), 1e-4f, names.get(i));
        }
    }

    @Test
    void evalSwitchesTheScriptModulesDropoutOff() throws Exception {
        Path file = dir.resolve("dropout.pt");
        save(file, "--dropout", "0.5");
        TorchScriptModel model = TorchScriptModel.load(file);
        try (NoGradGuard noGrad = new NoGradGuard()) {
            assertTrue(model.module().is_training());
            assertFalse(Arrays.equals(Tensors.toFloats(model.forward(referenceInput())),
                    Tensors.toFloats(model.forward(referenceInput()))), "dropout is on in train mode");

            model.module().eval();
            assertFalse(model.module().is_training());
            assertArrayEquals(Tensors.toFloats(model.forward(referenceInput())),
                    Tensors.toFloats(model.forward(referenceInput())), "dropout is off in eval mode");

            model.module().train(true);
            assertFalse(Arrays.equals(Tensors.toFloats(model.forward(referenceInput())),
                    Tensors.toFloats(model.forward(referenceInput()))), "dropout is on again");
        }
    }

    @Test
    void anArchiveOfTheModuleRestoresTheScriptsWeights() throws Exception {
        Path file = dir.resolve("gru.pt");
        save(file);
        TorchScriptModel model = TorchScriptModel.load(file);
        // the module tree's Java objects must outlive a collection: save calls back into them
        System.gc();
        float[] before;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            before = Tensors.toFloats(model.forward(referenceInput()));
            OutputArchive out = new OutputArchive();
            model.module().save(out);
            out.save_to(dir.resolve("weights.pt").toString());

            for (Tensor p : Parameters.of(model.module())) {
                p.zero_();
            }
            float[] zeroed = Tensors.toFloats(model.forward(referenceInput()));
            assertArrayEquals(new float[zeroed.length], zeroed, "zeroing the module's tensors zeroes the script's");

            InputArchive in = new InputArchive();
            in.load_from(dir.resolve("weights.pt").toString());
            model.module().load(in);
            assertArrayEquals(before, Tensors.toFloats(model.forward(referenceInput())));
        }
    }

    @Test
    void aTiedWeightIsOneParameterUnderItsFirstNameAsPyTorchListsIt() throws Exception {
        Path file = dir.resolve("tied.pt");
        JsonNode expected = RealPython.runScript("torch", "scripted_model.py", "save-tied", file.toString());
        Parameters parameters = Parameters.of(TorchScriptModel.load(file).module());
        List<String> pytorch = new ArrayList<>();
        expected.get("names").forEach(n -> pytorch.add(n.asText()));
        assertEquals(List.of("embedding.weight"), pytorch);
        assertEquals(pytorch, parameters.names(), "an optimizer must not step the shared tensor twice");
        assertEquals(40, parameters.numel());
    }

    @Test
    void aMissingFileOrOneThatIsNotTorchScriptIsOneLine() throws Exception {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> TorchScriptModel.load(dir.resolve("nope.pt")));
        assertTrue(missing.getMessage().contains("nope.pt does not exist"), missing.getMessage());

        Path text = Files.writeString(dir.resolve("text.pt"), "not a model");
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> TorchScriptModel.load(text));
        assertTrue(bad.getMessage().contains("is not a TorchScript module"), bad.getMessage());
        assertFalse(bad.getMessage().contains("\n"), bad.getMessage());
    }
}
