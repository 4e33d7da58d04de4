package dev.gradguard.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.optim.LibtorchOptimizer;
import dev.gradguard.optim.OptimizerSpec;
import dev.gradguard.optim.Optimizers;
import dev.gradguard.optim.Schedules;
import dev.gradguard.optim.TrainingOptimizer;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A parameter that a step's backward does not reach is left alone by the update, as in PyTorch
 * ({@code zero_grad(set_to_none=True)}), checked against PyTorch 2.13's own training of the same model on the
 * same data ({@code scripts/golden/unused_params_golden.py}).
 */
class UnusedParametersTest {
    private static final String RESOURCE = "/golden/unused_params_golden.json";
    private static final List<String> NAMES = List.of("a.weight", "a.bias", "b.weight", "b.bias");
    private static JsonNode golden;

    @BeforeAll
    static void load() throws IOException {
        Torch.load();
        Torch.setThreads(1);
        try (InputStream in = UnusedParametersTest.class.getResourceAsStream(RESOURCE)) {
            assertNotNull(in, RESOURCE + " is missing: run scripts/golden/unused_params_golden.py");
            golden = JsonMapper.builder().build().readTree(in);
        }
        assertTrue(golden.get("reference").asText().startsWith("torch "), "the golden file must come from PyTorch");
    }

    /** out = a(x) + b(x) when the input's last column (read from the first row) is set, else a(x). */
    static final class Branchy extends Module implements Model {
        final LinearImpl a = register_module("a", new LinearImpl(3, 2));
        final LinearImpl b = register_module("b", new LinearImpl(3, 2));

        @Override
        public Module module() {
            return this;
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor features = x.narrow(1, 0, 3);
            Tensor out = a.forward(features);
            return x.get(0).get(3).item_double() != 0 ? out.add(b.forward(features)) : out;
        }
    }

    private static Branchy initialModel() {
        Branchy model = new Branchy();
        Parameters parameters = Parameters.of(model);
        assertEquals(NAMES, parameters.names());
        try (NoGradGuard g = new NoGradGuard()) {
            for (int i = 0; i < NAMES.size(); i++) {
                Tensor p = parameters.get(i);
                p.copy_(Tensors.fromFloats(floats(golden.get("initial").get(NAMES.get(i))), p.sizes().vec().get()));
            }
        }
        return model;
    }

    /** The golden batches, in order; the tensors outlive the steps' memory scopes. */
    private static BatchSource goldenBatches() {
        List<Batch> batches = new ArrayList<>();
        for (JsonNode b : golden.get("batches")) {
            batches.add(new Batch(matrix(b.get("input")).retainReference(), matrix(b.get("target")).retainReference()));
        }
        Iterator<Batch> it = batches.iterator();
        return it::next;
    }

    private static Tensor matrix(JsonNode rows) {
        int cols = rows.get(0).size();
        float[] values = new float[rows.size() * cols];
        for (int r = 0; r < rows.size(); r++) {
            for (int c = 0; c < cols; c++) {
                values[r * cols + c] = (float) rows.get(r).get(c).asDouble();
            }
        }
        return Tensors.fromFloats(values, rows.size(), cols);
    }

    private static float[] floats(JsonNode array) {
        float[] values = new float[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) array.get(i).asDouble();
        }
        return values;
    }

    private static OptimizerSpec spec(String name) {
        double lr = golden.get("lr").asDouble();
        double decay = golden.get("weight_decay").asDouble();
        double momentum = name.equals("sgd") ? golden.get("momentum").asDouble() : 0;
        return OptimizerSpec.defaults(name, lr).withMomentum(momentum).withWeightDecay(decay);
    }

    /**
     * gradguard's optimizer, or libtorch's stepped through the generic path, its parameters in the model's order or
     * reversed (the trainer then maps the unused parameters into the optimizer's order).
     */
    private static TrainingOptimizer optimizer(String name, Parameters parameters, String kind) {
        return switch (kind) {
            case "gradguard" -> Optimizers.create(spec(name), parameters);
            case "libtorch" -> LibtorchOptimizer.of(Optimizers.libtorch(spec(name), parameters));
            case "libtorch-reversed" -> {
                List<String> names = new ArrayList<>(parameters.names());
                List<Tensor> tensors = new ArrayList<>(parameters.tensors());
                Collections.reverse(names);
                Collections.reverse(tensors);
                yield LibtorchOptimizer.of(Optimizers.libtorch(spec(name), Parameters.of(names, tensors)));
            }
            default -> throw new IllegalArgumentException(kind);
        };
    }

    @ParameterizedTest(name = "{0}, gradient buffer {1}, {2} optimizer")
    @CsvSource({"sgd, true, gradguard", "sgd, false, gradguard", "adamw, true, gradguard", "adamw, false, gradguard",
            "sgd, true, libtorch", "sgd, false, libtorch", "adamw, true, libtorch", "adamw, false, libtorch",
            "sgd, true, libtorch-reversed", "adamw, false, libtorch-reversed"})
    void parametersWithoutGradientStayAsInPyTorch(String optimizerName, boolean gradBuffer, String kind) {
        Branchy model = initialModel();
        Parameters parameters = Parameters.of(model);
        JsonNode expected = golden.get(optimizerName);
        try (Trainer trainer = Trainer.builder().model(model).data(goldenBatches()).loss(torch::mse_loss)
                .optimizer(optimizer(optimizerName, parameters, kind)).schedule(Schedules.constant(golden.get("lr").asDouble()))
                .gradBuffer(gradBuffer).build()) {
            float[][] before = snapshot(parameters);
            for (int step = 0; step < expected.size(); step++) {
                StepResult result = trainer.step();
                assertTrue(result.skip().isEmpty(), "step " + step + " was skipped: " + result.skip());
                float[][] after = snapshot(parameters);
                boolean usesB = golden.get("use_b").get(step).asBoolean();
                for (int i = 0; i < NAMES.size(); i++) {
                    float[] want = floats(expected.get(step).get(NAMES.get(i)));
                    String where = optimizerName + " step " + step + " " + NAMES.get(i);
                    assertArrayEquals(want, after[i], 2e-6f, where);
                    if (NAMES.get(i).startsWith("b.") && !usesB) {
                        assertArrayEquals(before[i], after[i], 0f, where + " received no gradient but moved");
                    }
                }
                before = after;
            }
        }
    }

    /** Without the fix, weight decay alone would move b on its first step: the test above can tell. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"sgd", "adamw"})
    void aZeroGradientWouldMoveTheUnusedBranch(String optimizerName) {
        Branchy model = initialModel();
        Parameters parameters = Parameters.of(model);
        float[][] before = snapshot(parameters);
        Optimizer optimizer = Optimizers.libtorch(spec(optimizerName), parameters);
        try (NoGradGuard g = new NoGradGuard()) {
            for (Tensor p : parameters) {
                p.mutable_grad().put(torch.zeros_like(p));
            }
        }
        optimizer.step();
        float[][] after = snapshot(parameters);
        assertNotEquals(Arrays.toString(before[2]), Arrays.toString(after[2]));
        assertArrayEquals(before[2], floats(golden.get(optimizerName).get(0).get("b.weight")), 0f,
                "PyTorch leaves b.weight as it was after step 0");
    }

    private static float[][] snapshot(Parameters parameters) {
        float[][] values = new float[parameters.size()][];
        for (int i = 0; i < values.length; i++) {
            values[i] = Tensors.toFloats(parameters.get(i).detach());
        }
        return values;
    }
}
