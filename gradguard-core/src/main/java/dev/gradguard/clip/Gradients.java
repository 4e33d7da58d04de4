package dev.gradguard.clip;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;

/** The defined gradients of a list of parameters. */
public final class Gradients {
    private Gradients() {
    }

    /** The gradients of those parameters that have one, in order. */
    public static List<Tensor> of(Iterable<Tensor> parameters) {
        List<Tensor> grads = new ArrayList<>();
        for (Tensor p : parameters) {
            Tensor g = p.grad();
            if (g.defined()) {
                grads.add(g);
            }
        }
        return grads;
    }
}
