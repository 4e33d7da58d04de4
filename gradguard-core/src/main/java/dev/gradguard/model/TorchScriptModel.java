package dev.gradguard.model;

import dev.gradguard.engine.Torch;
import dev.gradguard.io.RegularFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
 * those shared tensors, so both views always agree. The script module runs in the mode of the module tree:
 * {@link #forward} first switches it to {@code module().is_training()} (dropout, batch norm). A tensor that
 * appears under two names (tied weights) is registered under the first only, as PyTorch's
 * {@code named_parameters()} lists it once.
 *
 * <p>The module starts in train mode. Not thread-safe.
 */
public final class TorchScriptModel implements Model {
    private final Path file;
    private final JitModule script;
    private final Module module;
    /**
     * The submodules by dotted path. Held for the model's lifetime: a {@code Module} made in Java calls back into
     * its Java object for virtual methods ({@code save} among them), which fail once that object is collected.
     */
    private final Map<String, Module> submodules = new HashMap<>();

    private TorchScriptModel(Path file, JitModule script) {
        this.file = file;
        this.script = script;
        this.module = new Module("TorchScriptModel");
        List<Tensor> registered = new ArrayList<>();
        named_parameter_list parameters = script.named_parameters(true);
        // the bound iterators never compare equal in Java: step through exactly size() entries
        named_parameter_iterator p = parameters.begin();
        for (long i = 0; i < parameters.size(); i++, p = p.increment()) {
            NamedTensor entry = p.access();
            Tensor tensor = new Tensor(entry.value());
            if (registered.stream().noneMatch(tensor::is_same)) {
                registered.add(tensor);
                String name = entry.name().getString();
                owner(name).register_parameter(leaf(name), tensor, tensor.requires_grad());
            }
        }
        named_buffer_list buffers = script.named_buffers(true);
        named_buffer_iterator b = buffers.begin();
        for (long i = 0; i < buffers.size(); i++, b = b.increment()) {
            NamedTensor entry = b.access();
            String name = entry.name().getString();
            owner(name).register_buffer(leaf(name), new Tensor(entry.value()));
        }
        module.train(true);
        script.train(true);
    }

    /**
     * Loads a TorchScript file onto the CPU, in train mode.
     *
     * @throws IllegalArgumentException in one line when {@code file} does not exist, is not a regular file, or
     *     libtorch cannot load it as TorchScript (for example a {@code torch.save} state dict, or a model saved
     *     without {@code torch.jit})
     */
    public static TorchScriptModel load(Path file) {
        Optional<String> why = RegularFiles.whyNotRegular(file);
        if (why.isPresent()) {
            throw new IllegalArgumentException("model file " + file + " " + why.get() + "; "
                    + "name a file saved in Python with torch.jit.save(torch.jit.script(model), FILE)");
        }
        if (!Files.exists(file)) {
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
     * Runs the script module's {@code forward} on one tensor, in train mode or eval mode as {@code module()} is.
     *
     * @throws IllegalArgumentException in one line when the script fails on {@code input} (naming the script's
     *     error), or returns something other than a tensor (a tuple, say)
     */
    @Override
    public Tensor forward(Tensor input) {
        boolean training = module.is_training();
        if (script.is_training() != training) {
            script.train(training);
        }
        IValue out;
        try {
            out = script.forward(new IValueVector(new IValue(input)));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("model file " + file + ": forward failed: " + scriptError(e), e);
        }
        if (!out.isTensor()) {
            throw new IllegalArgumentException("model file " + file + ": forward returned a " + out.tagKind().getString()
                    + ", not a Tensor");
        }
        return out.toTensor();
    }

    /** The module that owns the dotted {@code name}'s last part, created along the path as needed. */
    private Module owner(String name) {
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

    /**
     * The error the script raised: an interpreter error's message is a TorchScript traceback whose last
     * {@code ...Error: } line says what went wrong (its {@code builtins.} prefix dropped); any other message is
     * reduced to its first line.
     */
    private static String scriptError(RuntimeException e) {
        String[] lines = String.valueOf(e.getMessage()).strip().split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            if (lines[i].matches("^[\\w.]*Error: .*")) {
                return lines[i].strip().replaceFirst("^builtins\\.", "");
            }
        }
        return firstLine(e);
    }
}
