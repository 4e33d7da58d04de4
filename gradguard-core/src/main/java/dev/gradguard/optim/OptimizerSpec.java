package dev.gradguard.optim;

import java.util.List;

/**
 * Which optimizer to build and with which hyper-parameters. Immutable; every instance is valid.
 *
 * <p>The fields follow PyTorch's names and defaults ({@code torch.optim.SGD}, {@code Adam}, {@code AdamW});
 * start from {@link #sgd}, {@link #adam} or {@link #adamw} and change fields with the {@code with...} methods.
 * SGD reads {@code lr, momentum, dampening, nesterov, weightDecay}; Adam and AdamW read
 * {@code lr, beta1, beta2, eps, weightDecay} and never use AMSGrad. SGD ignores the Adam fields
 * ({@link #defaults} fills them with Adam's defaults); {@code momentum}, {@code dampening} and {@code nesterov},
 * however, must stay off for Adam and AdamW, so that a momentum meant for SGD is not silently dropped. For Adam the weight decay
 * is the L2 term added to the gradient; for AdamW it is decoupled (Loshchilov and Hutter, 2019).
 *
 * @param name {@code sgd}, {@code adam} or {@code adamw}
 * @param lr the learning rate, finite and {@code > 0}
 * @param momentum SGD's momentum factor, in {@code [0, 1)}
 * @param dampening SGD's dampening of the gradient in the momentum buffer, in {@code [0, 1]}
 * @param nesterov SGD's Nesterov momentum; needs {@code momentum > 0} and {@code dampening == 0}
 * @param weightDecay finite and {@code >= 0}
 * @param beta1 Adam's first-moment decay, in {@code [0, 1)}
 * @param beta2 Adam's second-moment decay, in {@code [0, 1)}
 * @param eps Adam's denominator term, finite and {@code >= 0} (as in PyTorch; 0 can divide 0 by 0)
 */
public record OptimizerSpec(String name, double lr, double momentum, double dampening, boolean nesterov,
        double weightDecay,
        double beta1, double beta2, double eps) {

    /** The optimizer names {@link #name} accepts. */
    public static final List<String> NAMES = List.of("sgd", "adam", "adamw");

    /**
     * Validates every field.
     *
     * @throws IllegalArgumentException naming the first invalid field, its value and what is allowed
     */
    public OptimizerSpec {
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("optimizer name must be one of " + String.join(", ", NAMES)
                    + ", got '" + name + "'");
        }
        if (!(Double.isFinite(lr) && lr > 0)) {
            throw new IllegalArgumentException("lr must be finite and > 0, got " + lr);
        }
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        }
        if (!(dampening >= 0 && dampening <= 1)) {
            throw new IllegalArgumentException("dampening must be in [0, 1], got " + dampening);
        }
        if (nesterov && (momentum == 0 || dampening != 0)) {
            throw new IllegalArgumentException("nesterov requires momentum > 0 and dampening 0, got momentum "
                    + momentum + ", dampening " + dampening);
        }
        if (!name.equals("sgd") && (momentum != 0 || dampening != 0 || nesterov)) {
            throw new IllegalArgumentException("momentum, dampening and nesterov apply to sgd only (" + name
                    + " uses beta1), got momentum " + momentum + ", dampening " + dampening + ", nesterov " + nesterov);
        }
        if (!(Double.isFinite(weightDecay) && weightDecay >= 0)) {
            throw new IllegalArgumentException("weightDecay must be finite and >= 0, got " + weightDecay);
        }
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        }
        if (!(Double.isFinite(eps) && eps >= 0)) {
            throw new IllegalArgumentException("eps must be finite and >= 0, got " + eps);
        }
    }

    /**
     * PyTorch's defaults for {@code name} with the given learning rate: SGD without momentum, Nesterov or
     * weight decay; Adam with betas (0.9, 0.999), eps 1e-8 and no weight decay; AdamW the same but with
     * weight decay 1e-2.
     *
     * @throws IllegalArgumentException for an unknown name or an invalid {@code lr}
     */
    public static OptimizerSpec defaults(String name, double lr) {
        double weightDecay = "adamw".equals(name) ? 1e-2 : 0;
        return new OptimizerSpec(name, lr, 0, 0, false, weightDecay, 0.9, 0.999, 1e-8);
    }

    /** SGD at {@code lr} with PyTorch's defaults: no momentum, dampening, Nesterov or weight decay. */
    public static OptimizerSpec sgd(double lr) {
        return defaults("sgd", lr);
    }

    /** Adam at {@code lr} with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay. */
    public static OptimizerSpec adam(double lr) {
        return defaults("adam", lr);
    }

    /** AdamW at {@code lr} with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 1e-2. */
    public static OptimizerSpec adamw(double lr) {
        return defaults("adamw", lr);
    }

    public OptimizerSpec withLr(double newLr) {
        return new OptimizerSpec(name, newLr, momentum, dampening, nesterov, weightDecay, beta1, beta2, eps);
    }

    public OptimizerSpec withMomentum(double newMomentum) {
        return new OptimizerSpec(name, lr, newMomentum, dampening, nesterov, weightDecay, beta1, beta2, eps);
    }

    public OptimizerSpec withDampening(double newDampening) {
        return new OptimizerSpec(name, lr, momentum, newDampening, nesterov, weightDecay, beta1, beta2, eps);
    }

    public OptimizerSpec withNesterov(boolean newNesterov) {
        return new OptimizerSpec(name, lr, momentum, dampening, newNesterov, weightDecay, beta1, beta2, eps);
    }

    public OptimizerSpec withWeightDecay(double newWeightDecay) {
        return new OptimizerSpec(name, lr, momentum, dampening, nesterov, newWeightDecay, beta1, beta2, eps);
    }

    public OptimizerSpec withBetas(double newBeta1, double newBeta2) {
        return new OptimizerSpec(name, lr, momentum, dampening, nesterov, weightDecay, newBeta1, newBeta2, eps);
    }

    public OptimizerSpec withEps(double newEps) {
        return new OptimizerSpec(name, lr, momentum, dampening, nesterov, weightDecay, beta1, beta2, newEps);
    }
}
