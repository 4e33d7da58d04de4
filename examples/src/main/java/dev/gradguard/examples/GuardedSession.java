package dev.gradguard.examples;

import dev.gradguard.clip.Clip;
import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Model;
import dev.gradguard.session.Evaluation;
import dev.gradguard.session.SessionResult;
import dev.gradguard.session.TrainingSession;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Adam;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Example 2: your own models and data in a guarded {@link TrainingSession}: an MLP on a regression and a small
 * conv net on an image classification, each with ZClip, metrics.jsonl and TensorBoard in its run directory.
 */
public final class GuardedSession {
    private GuardedSession() {
    }

    /** {@code nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 1))}. */
    static final class Mlp extends Module implements Model {
        final LinearImpl fc1 = register_module("fc1", new LinearImpl(8, 64));
        final LinearImpl fc2 = register_module("fc2", new LinearImpl(64, 1));

        @Override
        public Module module() {
            return this;
        }

        @Override
        public Tensor forward(Tensor x) {
            return fc2.forward(torch.tanh(fc1.forward(x)));
        }
    }

    /** Two 3x3 convolutions and a linear head over 1x8x8 images, 2 classes. */
    static final class ConvNet extends Module implements Model {
        final Conv2dImpl conv1 = register_module("conv1", new Conv2dImpl(conv(1, 8)));
        final Conv2dImpl conv2 = register_module("conv2", new Conv2dImpl(conv(8, 8)));
        final LinearImpl head = register_module("head", new LinearImpl(8, 2));

        private static Conv2dOptions conv(long in, long out) {
            Conv2dOptions o = new Conv2dOptions(in, out, new LongPointer(3L, 3L));
            o.padding().put(new LongPointer(1L, 1L));
            return o;
        }

        @Override
        public Module module() {
            return this;
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor h = torch.relu(conv2.forward(torch.relu(conv1.forward(x))));
            return head.forward(h.mean(new long[] {2, 3}));        // global average pooling, then the head
        }
    }

    /** Regression batches: y = sum(sin(x)) over 8 inputs. Batches are made inside the step (see the guide). */
    static final class SineData implements BatchSource {
        @Override
        public Batch next() {
            Tensor x = torch.randn(64, 8);
            return new Batch(x, torch.sin(x).sum(1).unsqueeze(1));
        }
    }

    /** Images whose class is whether the bright square is in the top half. */
    static final class SquareData implements BatchSource {
        @Override
        public Batch next() {
            return squares(64);
        }
    }

    static Batch squares(int n) {
        Tensor labels = torch.randint(2, new long[] {n});
        Tensor images = torch.randn(n, 1, 8, 8).mul(new Scalar(0.3));
        Tensor top = torch.zeros(1, 1, 8, 8);
        top.narrow(2, 0, 4).fill_(new Scalar(1.0));
        Tensor bottom = torch.ones(1, 1, 8, 8).sub(top);
        Tensor isTop = labels.to(torch.ScalarType.Float).view(n, 1, 1, 1);
        Tensor mask = isTop.mul(top).add(isTop.neg().add(new Scalar(1.0)).mul(bottom));
        return new Batch(images.add(mask), labels);
    }

    /** The held-out accuracy of the conv net. */
    static Evaluation accuracy(Model model) {
        try (PointerScope scope = new PointerScope(); org.bytedeco.pytorch.NoGradGuard g = new org.bytedeco.pytorch.NoGradGuard()) {
            Batch test = squares(1000);
            double correct = torch.argmax(model.forward(test.input()), new org.bytedeco.pytorch.LongOptional(1), false)
                    .eq(test.target()).to(torch.ScalarType.Double).mean().item_double();
            return new Evaluation("accuracy", correct, 0.5, correct > 0.95, "accuracy > 0.95");
        }
    }

    /** Trains the MLP (300 steps) in {@code runs/mlp} and the conv net (200 steps) in {@code runs/convnet}. */
    public static Map<String, SessionResult> train(Path runs) throws IOException {
        Torch.load();
        torch.manual_seed(0);
        Mlp mlp = new Mlp();
        SessionResult regression;
        try (TrainingSession session = TrainingSession.builder()
                .model(mlp)
                .data(new SineData())
                .loss(torch::mse_loss)
                .optimizer(new Adam(mlp.parameters(), new AdamOptions(3e-3)))
                .clip(Clip.zclip())
                .runDirectory(runs.resolve("mlp"))
                .build()) {
            regression = session.run(300);
        }
        ConvNet net = new ConvNet();
        SessionResult classification;
        try (TrainingSession session = TrainingSession.builder()
                .model(net)
                .data(new SquareData())
                .loss(torch::cross_entropy)
                .optimizer(new Adam(net.parameters(), new AdamOptions(1e-2)))
                .clip(Clip.zclip())
                .evaluation(GuardedSession::accuracy)
                .runDirectory(runs.resolve("convnet"))
                .build()) {
            classification = session.run(200);
        }
        return Map.of("mlp", regression, "convnet", classification);
    }

    public static void main(String[] args) throws IOException {
        Path runs = Path.of(args.length > 0 ? args[0] : "runs/examples");
        train(runs).forEach((name, r) -> System.out.println(name + ": " + r.sentence()));
        System.out.println("tensorboard --logdir " + runs);
    }
}
