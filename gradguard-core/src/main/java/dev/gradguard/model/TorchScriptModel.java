package dev.gradguard.model;

import dev.gradguard.engine.Torch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.IValueVector;
import org.bytedeco.pytorch.JitModule;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NamedTensor;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.named_buffer_iterator;
import org.bytedeco.pytorch.named_buffer_list;
import org.bytedeco.pytorch.named_parameter_iterator;
import org.bytedeco.pytorch.named_parameter_list;
import org.bytedeco.pytorch.global.torch;

/**
 * A model defined in Python and saved as TorchScript ({@code torch.jit.save(torch.jit.script(model), file)}),
 * loaded with libtorch's {@code torch::jit::load} and trained like a built-in model.
 *
 * <p>A TorchScript module is not a libtorch {@link Module}, which the trainer, optimizers and checkpoints work
 * on. {@link #module()} is therefore a {@code Module} tree that holds the very same tensors: each parameter and
 * buffer of the script module is registered in it under the name {@code named_parameters()} gives it in
 * PyTorch ({@code rnn.weight_ih_l0} becomes parameter {@code weight_ih_l0} of submodule {@code rnn}). Gradients
 * the script's backward pass accumulates, optimizer updates, checkpoint restores and device moves all act on
 * those shared tensors, so both views always agree. {@code train(boolean)} and {@code eval()} on the module
 * switch the script module too (dropout, batch norm). A tensor that appears under two names (tied weights) is
 * registered under the first only, as PyTorch's {@code named_parameters()} lists it once.
 *
 * <p>The module starts in train mode. Not thread-safe.
 */
public final class TorchScriptModel implements Model {
    private final Path file;
    private final JitModule script;
    private final Module module;

    private TorchScriptModel(Path file, JitModule script) {
        this.file = file;
        this.script = script;
        this.module = new ScriptMirror(script);
        List<Tensor> registered = new ArrayList<>();
        Map<String, Module> submodules = new HashMap<>();
        named_parameter_list parameters = script.named_parameters(true);
        // the bound iterators never compare equal in Java: step through exactly size() entries
        named_parameter_iterator p = parameters.begin();
        for (long i = 0; i < parameters.size(); i++, p = p.increment()) {
            NamedTensor entry = p.access();
            Tensor tensor = new Tensor(entry.value());
            if (registered.stream().noneMatch(tensor::is_same)) {
                registered.add(tensor);
                String name = entry.name().getString();
                owner(name, submodules).register_parameter(leaf(name), tensor, tensor.requires_grad());
            }
        }
        named_buffer_list buffers = script.named_buffers(true);
        named_buffer_iterator b = buffers.begin();
        for (long i = 0; i < buffers.size(); i++, b = b.increment()) {
            NamedTensor entry = b.access();
            String name = entry.name().getString();
            owner(name, submodules).register_buffer(leaf(name), new Tensor(entry.value()));
        }
        module.train(true);
    }

    /**
     * Loads a TorchScript file onto the CPU, in train mode.
     *
     * @throws IllegalArgumentException in one line when {@code file} does not exist or libtorch cannot load it as
     *     TorchScript (for example a {@code torch.save} state dict, or a model saved without {@code torch.jit})
     */
    public static TorchScriptModel load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("model file " + file + " does not exist; save one in Python with "
                    + "torch.jit.save(torch.jit.script(model), FILE)");
        }
        Torch.load();
        JitModule script;
        try {
            script = torch.load(file.toString());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("model file " + file + " is not a TorchScript module libtorch "
                    + Torch.version() + " can load (save it with torch.jit.save(torch.jit.script(model), FILE)): "
                    + firstLine(e), e);
        }
        return new TorchScriptModel(file, script);
    }

    /** The file the model was loaded from. */
    public Path file() {
        return file;
    }

    /** The module tree sharing the script module's parameters and buffers, in PyTorch's order and names. */
    @Override
    public Module module() {
        return module;
    }

    /**
     * Runs the script module's {@code forward} on one tensor.
     *
     * @throws IllegalArgumentException when {@code forward} returns something other than a tensor (a tuple, say)
     * @throws RuntimeException libtorch's error when the script rejects the input (its message quotes the
     *     TorchScript source line)
     */
    @Override
    public Tensor forward(Tensor input) {
        IValue out = script.forward(new IValueVector(new IValue(input)));
        if (!out.isTensor()) {
            throw new IllegalArgumentException("model file " + file + ": forward returned a " + out.tagKind().getString()
                    + ", not a Tensor");
        }
        return out.toTensor();
    }

    /** The module that owns the dotted {@code name}'s last part, created along the path as needed. */
    private Module owner(String name, Map<String, Module> submodules) {
        Module parent = module;
        int dot = name.indexOf('.');
        while (dot >= 0) {
            String path = name.substring(0, dot);
            Module owner = parent;
            String part = path.substring(path.lastIndexOf('.') + 1);
            parent = submodules.computeIfAbsent(path, k -> owner.register_module(part, new Module(part)));
            dot = name.indexOf('.', dot + 1);
        }
        return parent;
    }

    private static String leaf(String name) {
        return name.substring(name.lastIndexOf('.') + 1);
    }

    private static String firstLine(RuntimeException e) {
        String m = String.valueOf(e.getMessage()).strip();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** The root of the module tree: switching its mode switches the script module's too. */
    private static final class ScriptMirror extends Module {
        private final JitModule script;

        ScriptMirror(JitModule script) {
            super("TorchScriptModel");
            this.script = script;
        }

        @Override
        public void train(boolean on) {
            super.train(on);
            script.train(on);
        }

        @Override
        public void eval() {
            train(false);
        }
    }
}
