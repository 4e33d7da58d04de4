package dev.gradguard.train;

import dev.gradguard.model.Parameters;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.FunctionPostHook;
import org.bytedeco.pytorch.Node;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/**
 * Which parameters received a gradient in a step's backward passes, so that the others can be kept out of
 * the optimizer step as PyTorch does: after {@code zero_grad()} (which sets gradients to {@code None}) a
 * parameter that no backward reaches keeps {@code grad = None}, and every optimizer skips it, weight decay and
 * momentum included. With the gradient buffer bound, such a parameter holds a zero gradient instead, which
 * the optimizers do not skip.
 *
 * <p>How: a post hook on each parameter's gradient accumulator (the {@code AccumulateGrad} node autograd
 * runs when a gradient reaches the parameter, as DDP's Reducer does in C++), which records that a defined
 * gradient arrived. The accumulators are held here, so that every backward reaches these same nodes. A
 * parameter given new storage by {@code set_()} (e.g. {@code Module.load}) gets a new accumulator without
 * the hook; {@link #missing()} checks the accumulator of each parameter it would report, re-attaches a hook
 * to a new one and counts that parameter as having received a gradient in that step, since nothing
 * recorded it (the step then updates it as before this check existed).
 *
 * <p>Cost: one call from native code into Java per parameter per backward, plus, on steps where some
 * parameter got nothing, a look-up of those parameters' accumulators.
 *
 * <p>The hooks stay on the accumulators until {@link #close()}; until then they are held strongly here
 * and in {@link #LIVE} (native code refers to them only weakly, and a hook collected while its node can
 * still run would fail the next backward). Not thread-safe.
 */
final class GradientArrivals implements AutoCloseable {
    /** Every hook still attached to a node, kept reachable until {@link #close()} detaches it. */
    private static final Set<Arrival> LIVE = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));

    private final Parameters parameters;
    /** Per parameter: its hook, or null for a parameter that does not require grad. */
    private final List<Arrival> arrivals;
    private boolean closed;

    /** Records that a defined gradient reached one parameter's accumulator. */
    private static final class Arrival extends FunctionPostHook {
        final Node node;
        final long key;
        boolean received;

        /** Attaches to {@code node}, a retained reference that this hook now owns. */
        Arrival(Node node) {
            this.node = node;
            this.key = node.add_post_hook(this);
        }

        @Override
        public TensorVector apply(TensorVector outputs, TensorVector inputs) {
            // AccumulateGrad leaves the gradient untouched when the incoming one is undefined
            if (inputs.size() > 0 && inputs.get(0).defined()) {
                received = true;
            }
            return outputs;
        }

        void detach() {
            node.del_post_hook(key);
            node.releaseReference();
        }
    }

    GradientArrivals(Parameters parameters) {
        this.parameters = parameters;
        this.arrivals = new ArrayList<>(parameters.size());
        for (Tensor p : parameters) {
            arrivals.add(p.requires_grad() ? attach(accumulator(p)) : null);
        }
    }

    /** Forgets what arrived: call it where the step's gradients are zeroed. */
    void reset() {
        for (Arrival a : arrivals) {
            if (a != null) {
                a.received = false;
            }
        }
    }

    /**
     * The indices (in {@link Parameters} order) of the parameters that require grad but received no gradient
     * since {@link #reset()}.
     */
    BitSet missing() {
        BitSet missing = new BitSet(arrivals.size());
        for (int i = 0; i < arrivals.size(); i++) {
            Arrival a = arrivals.get(i);
            if (a != null && !a.received && !reattached(i)) {
                missing.set(i);
            }
        }
        return missing;
    }

    /** Whether parameter {@code i}'s accumulator was replaced since its hook was attached (the hook is moved). */
    private boolean reattached(int i) {
        Node current = accumulator(parameters.get(i));
        Arrival old = arrivals.get(i);
        if (current.address() == old.node.address()) {
            current.releaseReference();
            return false;
        }
        old.detach();
        LIVE.remove(old);
        arrivals.set(i, attach(current));
        return true;
    }

    private static Arrival attach(Node node) {
        Arrival a = new Arrival(node);
        LIVE.add(a);
        return a;
    }

    /** The parameter's gradient accumulator: the node autograd runs when a gradient reaches it (retained). */
    private static Node accumulator(Tensor p) {
        try (PointerScope scope = new PointerScope(); AutoGradMode grad = new AutoGradMode(true)) {
            return p.view_as(p).grad_fn().next_edges().get(0).function().retainReference();
        }
    }

    /** Detaches every hook; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Arrival a : arrivals) {
            if (a != null) {
                a.detach();
                LIVE.remove(a);
            }
        }
    }
}
