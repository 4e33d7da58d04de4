package dev.gradguard.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/**
 * {@code train}'s setting flags, as picocli mixins: each flag is a settings key with {@code --} in front
 * ({@link dev.gradguard.run.TrainSettings#keys()}), its text read and checked by the settings
 * ({@link dev.gradguard.run.SettingsLayers}); a flag left out is {@code null}. {@code compare} mixes in
 * {@link Shared} too, and passes those settings on to every run it starts.
 */
final class SettingOptions {
    private SettingOptions() {
    }

    /** The settings a comparison's grid sets for each run; {@code train} alone takes them as flags. */
    static final class PerRun {
        @Option(names = "--clip", paramLabel = "POLICY", description = "none, norm:MAX[:P], value:V, agc:FACTOR, autoclip:P[:WINDOW], zclip[:Z], spike[:K], loss-spike[:K], spike-abs:T; chain with ',' (e.g. spike:6,zclip) (default: ${gradguard.default.clip})")
        String clip;
        @Option(names = "--controller", paramLabel = "SPEC", description = "none or auto[:KEY=VALUE,...]: lower the LR when the norm keeps pressing the threshold, relax the threshold when clipping never triggers (default: ${gradguard.default.controller}; none when --clip has no threshold, e.g. none)")
        String controller;
        @Option(names = "--lr", paramLabel = "LR", description = "learning rate (default: ${gradguard.default.lr}; 3e-3 for model transformer)")
        String lr;
        @Option(names = "--seed", paramLabel = "N", description = "random seed for weights and data (default: ${gradguard.default.seed})")
        String seed;
        @Option(names = "--threads", paramLabel = "N", description = "libtorch intra-op threads (default: the machine's cores)")
        String threads;
    }

    /** The settings every run of a comparison shares: the rest of {@code train}'s. */
    static final class Shared {
        @Option(names = "--task", paramLabel = "NAME", description = "adding, temporal-order or charlm (default: ${gradguard.default.task})")
        String task;
        @Option(names = "--model", paramLabel = "NAME", description = "gru, lstm, rnn or transformer (charlm: lstm or transformer) (default: the task's)")
        String model;
        @Option(names = "--model-file", paramLabel = "FILE", description = "train a model defined in Python and saved with torch.jit.save(torch.jit.script(model), FILE); the task sets its input and output shapes (README: Your own PyTorch model) (default: none, a built-in model)")
        String modelFile;
        @Option(names = "--steps", paramLabel = "N", description = "training steps (default: ${gradguard.default.steps}; 300 for charlm's transformer)")
        String steps;
        @Option(names = "--batch-size", paramLabel = "N", description = "sequences per batch (default: ${gradguard.default.batch-size}; 32 for charlm's transformer)")
        String batchSize;
        @Option(names = "--optimizer", paramLabel = "NAME", description = "sgd, adam or adamw, with PyTorch's defaults (default: ${gradguard.default.optimizer}; adamw for model transformer)")
        String optimizer;
        @Option(names = "--momentum", paramLabel = "M", description = "SGD momentum (default: ${gradguard.default.momentum})")
        String momentum;
        @Option(names = "--nesterov", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true", description = "Nesterov momentum for SGD (default: false)")
        String nesterov;
        @Option(names = "--weight-decay", paramLabel = "WD", description = "weight decay, decoupled for adamw (default: PyTorch's, 0 for sgd and adam, 0.01 for adamw)")
        String weightDecay;
        @Option(names = "--schedule", paramLabel = "SPEC", description = "constant, warmup:STEPS, cosine[:WARMUP], step:SIZE:GAMMA, plateau[:PATIENCE[:FACTOR[:INTERVAL]]] (default: ${gradguard.default.schedule}; warmup:30 for model transformer)")
        String schedule;
        @Option(names = "--init-from", paramLabel = "FILE", description = "start from the weights in a .safetensors file (from gradguard export, or PyTorch's safetensors.torch.save_file with the model's names) instead of the seed's (default: none)")
        String initFrom;
        @Option(names = "--device", paramLabel = "DEVICE", description = "auto (a GPU when CUDA is usable, else the CPU), cpu, cuda or cuda:N (default auto)")
        String device;
        @Option(names = "--precision", paramLabel = "P", description = "fp32, bf16 or fp16: forward pass and loss under autocast in bf16 or fp16 (fp16 with dynamic loss scaling); weights and gradients stay fp32 (default fp32)")
        String precision;
        @Option(names = "--loss-scale-init", paramLabel = "S", description = "fp16: the first loss scale (default 65536, PyTorch's)")
        String lossScaleInit;
        @Option(names = "--loss-scale-growth-interval", paramLabel = "N", description = "fp16: finite steps in a row before the loss scale doubles (default 2000, PyTorch's)")
        String lossScaleGrowthInterval;
        @Option(names = "--flush-denormal", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true", description = "flush denormal floats to zero, torch.set_flush_denormal (default true: denormals slow CPU math tens of times)")
        String flushDenormal;
        @Option(names = "--accumulate", paramLabel = "N", description = "micro-batches per step (gradient accumulation; clipping once after the last) (default: 1)")
        String accumulate;
        @Option(names = "--hidden", paramLabel = "N", description = "hidden units of the model, or a transformer's width (default: the task's: 32 for adding and temporal-order, 128 for charlm's lstm, 64 for its transformer)")
        String hidden;
        @Option(names = "--layers", paramLabel = "N", description = "blocks of model transformer (default: the task's: 2)")
        String layers;
        @Option(names = "--heads", paramLabel = "N", description = "attention heads of model transformer, dividing --hidden (default: the task's: 4)")
        String heads;
        @Option(names = "--length", paramLabel = "T", description = "sequence length (adding, temporal-order) or window (charlm) (default: the task's: 30 for adding, 100 for temporal-order, 64 for charlm)")
        String length;
        @Option(names = "--data", paramLabel = "FILE", description = "UTF-8 text file for charlm (required there)")
        String data;
        @Option(names = "--eval-samples", paramLabel = "N", description = "held-out sequences for evaluation (default: ${gradguard.default.eval-samples})")
        String evalSamples;
        @Option(names = "--max-nonfinite", paramLabel = "N", description = "stop after N consecutive non-finite steps (default 20)")
        String maxNonfinite;
        @Option(names = "--divergence-stop", paramLabel = "FACTOR:STEPS", description = "stop a run whose loss stays above FACTOR times its first step's, counted as diverged: when its steps above that level outnumber those below by STEPS (STEPS in a row, or more swinging around it); off for never (default: ${gradguard.default.divergence-stop})")
        String divergenceStop;
        @Option(names = "--inject-nonfinite", paramLabel = "STEPS", description = "fault injection: poison the gradients with NaN at these steps, e.g. 10,20,30, to watch the guard work (default: none)")
        String injectNonfinite;
        @Option(names = "--grad-buffer", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true", description = "bind gradients into one flat buffer per device and dtype, so clipping runs at memory speed (default true)")
        String gradBuffer;
        @Option(names = "--grad-sync", paramLabel = "MODE", description = "data-parallel runs: how ranks average gradients: flat (one all-reduce over the gradient buffer after backward) or reducer (DDP's Reducer, bucketed and overlapped with backward) (default flat)")
        String gradSync;
        @Option(names = "--tensorboard", paramLabel = "DIR", description = "directory for TensorBoard event files (default: the run directory)")
        String tensorboard;
        @Option(names = "--grad-norm-every", paramLabel = "N", description = "steps between per-parameter gradient norms in TensorBoard (default 100; 0 = never)")
        String gradNormEvery;
        @Option(names = "--checkpoint-every", paramLabel = "N", description = "save a checkpoint every N steps (default 0: only at the end); the last --keep-checkpoints are kept")
        String checkpointEvery;
        @Option(names = "--keep-checkpoints", paramLabel = "K", description = "checkpoints to keep (default 3)")
        String keepCheckpoints;
        @Option(names = "--rollback", paramLabel = "N", description = "on a spike (a step a spike guard in --clip skips), go back to the last checkpoint and skip the batches since, at most N times (default 0: off)")
        String rollback;
    }

    /**
     * The settings that {@code mixins}' flags give, under their keys ({@code --batch-size 8}: {@code batch-size}
     * = {@code "8"}).
     *
     * @throws IllegalArgumentException when a flag was given an empty value, which for an optional path such as
     *     {@code --data ""} or {@code --tensorboard ""} would silently mean "not set"
     */
    static Map<String, Object> given(Object... mixins) {
        Map<String, Object> given = new LinkedHashMap<>();
        for (Object mixin : mixins) {
            for (OptionSpec o : CommandSpec.forAnnotatedObject(mixin).options()) {
                String key = o.longestName().substring(2);
                String value = o.getValue();
                if (value != null && value.isBlank()) {
                    throw new IllegalArgumentException("'" + key + "' must be given a value, got '" + value
                            + "' (leave the flag out for the default)");
                }
                if (value != null) {
                    given.put(key, value);
                }
            }
        }
        return given;
    }
}
