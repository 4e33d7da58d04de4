package dev.gradguard.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.engine.Tensors;
import dev.gradguard.model.Parameters;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * gradguard's optimizers resume exactly from their saved state, and read the state that libtorch's optimizers
 * saved (checkpoints of earlier gradguard versions), refusing one they cannot keep instead of dropping it.
 */
class FusedOptimizerResumeTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws IOException {
        FusedOptimizerGoldenTest.load();
    }

    /** The golden case whose optimizer and options are these. */
    private static JsonNode goldenCase(String optimizer, String options) {
        for (JsonNode c : FusedOptimizerGoldenTest.golden().get("cases")) {
            if (c.get("optimizer").asText().equals(optimizer) && c.get("options").toString().equals(options)) {
                return c;
            }
        }
        throw new IllegalArgumentException("no golden case " + optimizer + " " + options);
    }

    private static Parameters copyOf(Parameters params) {
        List<Tensor> copies = new ArrayList<>();
        for (Tensor p : params) {
            copies.add(p.detach().clone().requires_grad_(true));
        }
        return Parameters.of(params.names(), copies);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "sgd {\"lr\":0.1,\"momentum\":0.8,\"nesterov\":true,\"weight_decay\":0.05}",
        "adamw {\"lr\":0.01,\"betas\":[0.85,0.95],\"eps\":1.0E-7,\"weight_decay\":0.2}"})
    void aRunResumedFromTheSavedStateMatchesPyTorchBitForBit(String which) throws IOException {
        JsonNode c = goldenCase(which.substring(0, which.indexOf(' ')), which.substring(which.indexOf(' ') + 1));
        Parameters params = FusedOptimizerGoldenTest.initial();
        FusedOptimizer first = Optimizers.create(FusedOptimizerGoldenTest.spec(c), params);
        for (int step = 0; step < 2; step++) {
            first.step(FusedOptimizerGoldenTest.lr(c, step), FusedOptimizerGoldenTest.setGradients(params, step));
        }
        InputArchive saved = OptimizerStates.roundTrip(first, tmp);

        Parameters resumedParams = copyOf(params);
        FusedOptimizer resumed = Optimizers.create(FusedOptimizerGoldenTest.spec(c), resumedParams);
        resumed.load(saved);
        for (int step = 2; step < FusedOptimizerGoldenTest.steps(); step++) {
            BitSet withheld = FusedOptimizerGoldenTest.setGradients(resumedParams, step);
            assertTrue(resumed.checkedStep(FusedOptimizerGoldenTest.lr(c, step), withheld).isEmpty());
            FusedOptimizerGoldenTest.assertMatches(c, step, resumedParams);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"sgd", "adam", "adamw"})
    void theStateOfLibtorchsOptimizerCarriesOverIntoGradguards(String name) throws IOException {
        OptimizerSpec spec = OptimizerSpec.defaults(name, 0.01).withWeightDecay(0.1);
        if (name.equals("sgd")) {
            spec = spec.withMomentum(0.9);
        }
        Parameters params = FusedOptimizerGoldenTest.initial();
        Optimizer libtorch = Optimizers.libtorch(spec, params);
        for (int step = 0; step < 2; step++) {
            FusedOptimizerGoldenTest.setGradients(params, step);
            libtorch.step();
        }
        OutputArchive out = new OutputArchive();
        libtorch.save(out);
        Path file = tmp.resolve(name + ".pt");
        out.save_to(file.toString());
        InputArchive saved = new InputArchive();
        saved.load_from(file.toString());

        Parameters carried = copyOf(params);
        FusedOptimizer gradguards = Optimizers.create(spec, carried);
        assertTrue(gradguards.reads(LibtorchOptimizer.of(libtorch).kind()));
        gradguards.load(saved);
        Parameters fresh = copyOf(params);
        FusedOptimizer withoutState = Optimizers.create(spec, fresh);
        for (int step = 2; step < FusedOptimizerGoldenTest.steps(); step++) {
            FusedOptimizerGoldenTest.setGradients(params, step);
            libtorch.step();
            gradguards.step(0.01, FusedOptimizerGoldenTest.setGradients(carried, step));
            withoutState.step(0.01, FusedOptimizerGoldenTest.setGradients(fresh, step));
        }
        for (int i = 0; i < params.size(); i++) {
            float[] expected = Tensors.toFloats(params.get(i).detach());
            assertArrayEquals(expected, Tensors.toFloats(carried.get(i).detach()), 1e-6f, params.name(i));
            assertFalse(Arrays.equals(expected, Tensors.toFloats(fresh.get(i).detach())),
                    params.name(i) + ": without the carried state the run differs");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"momentum", "count"})
    void aStateThatDoesNotFitIsRefusedAndTheOptimizerKeepsItsOwn(String mismatch) throws IOException {
        Parameters params = FusedOptimizerGoldenTest.initial();
        OptimizerSpec momentum = OptimizerSpec.sgd(0.1).withMomentum(0.9);
        Optimizer libtorch = Optimizers.libtorch(momentum, params);
        FusedOptimizerGoldenTest.setGradients(params, 0);
        libtorch.step();
        OutputArchive out = new OutputArchive();
        libtorch.save(out);
        out.save_to(tmp.resolve("sgd.pt").toString());
        InputArchive saved = new InputArchive();
        saved.load_from(tmp.resolve("sgd.pt").toString());

        Parameters target = mismatch.equals("momentum") ? copyOf(params)
                : Parameters.of(params.names().subList(0, 2), copyOf(params).tensors().subList(0, 2));
        FusedOptimizer sgd = Optimizers.create(mismatch.equals("momentum") ? OptimizerSpec.sgd(0.1) : momentum, target);
        float[] before = Tensors.toFloats(target.get(0).detach());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sgd.load(saved));
        assertEquals(mismatch.equals("momentum")
                ? "the optimizer state of parameter 'a' holds momentum_buffer, which gradguard.SGD with these options "
                        + "does not keep"
                : "the optimizer state is for 3 parameters, this optimizer has 2", e.getMessage());
        assertArrayEquals(before, Tensors.toFloats(target.get(0).detach()), 0f);
        assertTrue(OptimizerStates.values(OptimizerStates.roundTrip(sgd, tmp)).isEmpty());
    }
}
