package dev.gradguard.examples;

import dev.gradguard.clip.Clip;
import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.data.Rng;
import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Model;
import dev.gradguard.session.CheckpointPolicy;
import dev.gradguard.session.SessionResult;
import dev.gradguard.session.TrainingSession;
import dev.gradguard.train.StepResult;
import dev.gradguard.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Example 3: a run that checkpoints every 10 steps, stops at step 25 as if killed, and resumes to step 60 with
 * exactly the weights of a run that never stopped. The data source saves its position in checkpoints
 * ({@link BatchSource#stateDict()}), so the resumed run sees the batches the uninterrupted one saw.
 */
public final class CheckpointAndResume {
    private CheckpointAndResume() {
    }

    static final class Net extends Module implements Model {
        final LinearImpl fc1 = register_module("fc1", new LinearImpl(4, 16));
        final LinearImpl fc2 = register_module("fc2", new LinearImpl(16, 1));

        @Override
        public Module module() {
            return this;
        }

        @Override
        public Tensor forward(Tensor x) {
            return fc2.forward(torch.tanh(fc1.forward(x)));
        }
    }

    /** Batches of x ~ U[-1, 1]^4 with target sum(x), from a generator whose state goes into checkpoints. */
    static final class Data implements BatchSource {
        private final Rng rng = new Rng(7);

        @Override
        public Batch next() {
            float[] x = new float[32 * 4];
            float[] y = new float[32];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (2 * rng.nextDouble() - 1);
                y[i / 4] += x[i];
            }
            return new Batch(Tensors.fromFloats(x, 32, 4), Tensors.fromFloats(y, 32, 1));
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

    /** A session in {@code dir}; {@code stopAt} >= 0 stops it after that step, as a kill would. */
    static SessionResult run(Path dir, long steps, boolean resume, long stopAt) throws IOException {
        Torch.load();
        torch.manual_seed(1);
        Net net = new Net();
        TrainingSession[] self = new TrainingSession[1];
        try (TrainingSession session = TrainingSession.builder()
                .model(net)
                .data(new Data())
                .loss(torch::mse_loss)
                .optimizer(new SGD(net.parameters(), new SGDOptions(0.1)))
                .clip(Clip.norm(1.0))
                .runDirectory(dir)
                .resume(resume)
                .checkpoints(new CheckpointPolicy(10, 3, 0))
                .handleSignals(false)
                .listener(new TrainingListener() {
                    @Override
                    public void onStep(StepResult result) {
                        if (result.step() == stopAt) {
                            self[0].requestStop("stopped at step " + stopAt);
                        }
                    }
                })
                .build()) {
            self[0] = session;
            return session.run(steps);
        }
    }

    /** Runs the interrupted-and-resumed run and the uninterrupted one; returns both results. */
    public static Map<String, SessionResult> compare(Path runs) throws IOException {
        Path interrupted = runs.resolve("interrupted");
        SessionResult first = run(interrupted, 60, false, 25);
        SessionResult resumed = run(interrupted, 60, true, -1);
        SessionResult straight = run(runs.resolve("straight"), 60, false, -1);
        return Map.of("first", first, "resumed", resumed, "straight", straight);
    }

    public static void main(String[] args) throws IOException {
        Map<String, SessionResult> r = compare(Path.of(args.length > 0 ? args[0] : "runs/resume-example"));
        System.out.println("stopped after " + r.get("first").outcome().steps() + " steps; resumed from step "
                + r.get("resumed").resumedFromStep().orElseThrow());
        System.out.println("resumed:       " + r.get("resumed").paramChecksum());
        System.out.println("uninterrupted: " + r.get("straight").paramChecksum());
    }
}
