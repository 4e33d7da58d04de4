package dev.gradguard.checkpoint;

import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.data.Rng;
import dev.gradguard.engine.Tensors;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.optim.LibtorchOptimizer;
import dev.gradguard.optim.OptimizerSpec;
import dev.gradguard.optim.Optimizers;
import java.util.Map;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** A small model, its Adam optimizer, data and checkpoints of them, for the checkpoint tests. */
final class TinyModels {
    private TinyModels() {
    }

    /** y = fc2(tanh(fc1(x))), 4 -> hidden -> 1. */
    static final class Net extends Module implements Model {
        final LinearImpl fc1;
        final LinearImpl fc2;

        Net(int hidden) {
            fc1 = register_module("fc1", new LinearImpl(4, hidden));
            fc2 = register_module("fc2", new LinearImpl(hidden, 1));
        }

        @Override
        public Module module() {
            return this;
        }

        @Override
        public Tensor forward(Tensor x) {
            return fc2.forward(torch.tanh(fc1.forward(x)));
        }
    }

    /** Batches of x ~ U[-1,1]^4 with target sum(x), from a checkpointable generator. */
    static final class Data implements BatchSource {
        private final Rng rng;

        Data(long seed) {
            rng = new Rng(seed);
        }

        @Override
        public Batch next() {
            float[] x = new float[8 * 4];
            float[] y = new float[8];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (2 * rng.nextDouble() - 1);
                y[i / 4] += x[i];
            }
            return new Batch(Tensors.fromFloats(x, 8, 4), Tensors.fromFloats(y, 8, 1));
        }

        @Override
        public Map<String, Object> stateDict() {
            return rng.stateDict();
        }

        @Override
        public void loadStateDict(Map<String, Object> state) {
            rng.loadStateDict(state);
        }
    }

    /** A net with {@code hidden} units initialised from {@code seed}. */
    static Net net(long seed, int hidden) {
        torch.manual_seed(seed);
        return new Net(hidden);
    }

    static Optimizer adam(Net net) {
        return Optimizers.libtorch(OptimizerSpec.adam(0.05), Parameters.of(net));
    }

    /** One Adam step of mean squared error on {@code batch}. */
    static void step(Net net, Optimizer optimizer, Batch batch) {
        net.zero_grad(false);
        torch.mse_loss(net.forward(batch.input()), batch.target()).backward();
        optimizer.step();
    }

    /** A checkpoint of {@code net} and {@code optimizer} with a small trainer-like state map. */
    static Checkpoint checkpoint(long step, Net net, Optimizer optimizer) {
        return Checkpoint.capture(step, net, LibtorchOptimizer.of(optimizer), Map.of("step", step),
                Map.of("metrics.jsonl", 100 * step), Map.of("task", "tiny"));
    }
}
