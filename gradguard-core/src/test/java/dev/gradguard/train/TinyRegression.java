package dev.gradguard.train;

import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.data.Rng;
import dev.gradguard.engine.Tensors;
import dev.gradguard.model.Model;
import java.util.Map;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** A user-defined model and data source, as a Java user would plug them into the trainer. */
final class TinyRegression {
    private TinyRegression() {
    }

    /** y = tanh(W2 tanh(W1 x)), 4 -> 8 -> 1. */
    static final class Net extends Module implements Model {
        final LinearImpl fc1 = register_module("fc1", new LinearImpl(4, 8));
        final LinearImpl fc2 = register_module("fc2", new LinearImpl(8, 1));

        @Override
        public Module module() {
            return this;
        }

        @Override
        public Tensor forward(Tensor x) {
            return fc2.forward(torch.tanh(fc1.forward(x)));
        }
    }

    /** Batches of x ~ U[-1,1]^4, target = sum of x, from a checkpointable generator. */
    static final class Data implements BatchSource {
        private final Rng rng;
        private final int batch;

        Data(long seed, int batch) {
            this.rng = new Rng(seed);
            this.batch = batch;
        }

        @Override
        public Batch next() {
            float[] x = new float[batch * 4];
            float[] y = new float[batch];
            for (int i = 0; i < batch; i++) {
                for (int j = 0; j < 4; j++) {
                    x[i * 4 + j] = (float) (2 * rng.nextDouble() - 1);
                    y[i] += x[i * 4 + j];
                }
            }
            return new Batch(Tensors.fromFloats(x, batch, 4), Tensors.fromFloats(y, batch, 1));
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

    static Tensor mse(Tensor output, Tensor target) {
        return torch.mse_loss(output, target);
    }
}
