package dev.gradguard.examples;

import dev.gradguard.clip.ClipGrad;
import dev.gradguard.engine.Torch;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Example 1: gradguard's {@code clip_grad_norm_} dropped into a plain libtorch training loop. Nothing else of
 * gradguard is used: the loop is the one a PyTorch user writes, line for line.
 */
public final class DropInClipping {
    private DropInClipping() {
    }

    /** A two-layer perceptron, {@code nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 1))} in PyTorch. */
    static final class Mlp extends Module {
        final LinearImpl fc1 = register_module("fc1", new LinearImpl(4, 32));
        final LinearImpl fc2 = register_module("fc2", new LinearImpl(32, 1));

        Tensor forward(Tensor x) {
            return fc2.forward(torch.tanh(fc1.forward(x)));
        }
    }

    /**
     * What the loop saw.
     *
     * @param preClipNorms each step's total gradient norm before clipping, as {@code clip_grad_norm_} returns it
     * @param firstLoss the first step's loss
     * @param lastLoss the last step's loss
     */
    public record Result(List<Double> preClipNorms, double firstLoss, double lastLoss) {
    }

    /** Trains the MLP to fit {@code y = sum(x)} with SGD at a learning rate that needs clipping early on. */
    public static Result train(int steps, long seed) {
        Torch.load();
        torch.manual_seed(seed);                                         // torch.manual_seed(seed)
        Mlp model = new Mlp();                                           // model = Mlp()
        SGD optimizer = new SGD(model.parameters(), new SGDOptions(0.5)); // opt = torch.optim.SGD(model.parameters(), lr=0.5)
        List<Double> norms = new ArrayList<>();
        double first = Double.NaN;
        double last = Double.NaN;
        for (int step = 0; step < steps; step++) {
            try (PointerScope scope = new PointerScope()) {             // frees this step's tensors (see docs/library.md)
                Tensor x = torch.randn(64, 4).mul(new org.bytedeco.pytorch.Scalar(2.0)); // x = 2 * torch.randn(64, 4)
                Tensor y = x.sum(1).unsqueeze(1);                         // y = x.sum(1, keepdim=True)
                optimizer.zero_grad();                                   // opt.zero_grad()
                Tensor loss = torch.mse_loss(model.forward(x), y);        // loss = F.mse_loss(model(x), y)
                loss.backward();                                         // loss.backward()
                Tensor norm = ClipGrad.clipGradNorm(model.parameters(), 1.0); // norm = clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step();                                        // opt.step()
                norms.add(norm.item_double());
                last = loss.item_double();
                if (step == 0) {
                    first = last;
                }
            }
        }
        return new Result(norms, first, last);
    }

    public static void main(String[] args) {
        Result r = train(300, 0);
        System.out.printf("loss %.4f -> %.4f; the first gradient norm was %.2f (clipped to 1.0)%n", r.firstLoss(),
                r.lastLoss(), r.preClipNorms().get(0));
    }
}
