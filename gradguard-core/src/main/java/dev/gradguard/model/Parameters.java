package dev.gradguard.model;

import dev.gradguard.engine.Tensors;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * A model's trainable parameters with their names, in {@code named_parameters()} order. Immutable;
 * the tensors are the live parameters, created outside any per-step {@code PointerScope}.
 */
public final class Parameters implements Iterable<Tensor> {
    private final List<String> names;
    private final List<Tensor> tensors;

    private Parameters(List<String> names, List<Tensor> tensors) {
        this.names = Collections.unmodifiableList(names);
        this.tensors = Collections.unmodifiableList(tensors);
    }

    /** The trainable parameters of {@code module}, named as {@code named_parameters()} names them. */
    public static Parameters of(Module module) {
        StringTensorDict dict = module.named_parameters(true);
        List<String> names = new ArrayList<>();
        List<Tensor> tensors = new ArrayList<>();
        for (long i = 0; i < dict.size(); i++) {
            names.add(dict.get(i).key().getString());
            // value() is a reference into the dictionary, which is freed with it: hold our own handle
            tensors.add(new Tensor(dict.get(i).value()));
        }
        return new Parameters(names, tensors);
    }

    /** Named parameters from explicit lists of equal length. */
    public static Parameters of(List<String> names, List<Tensor> tensors) {
        if (names.size() != tensors.size()) {
            throw new IllegalArgumentException(names.size() + " names for " + tensors.size() + " tensors");
        }
        return new Parameters(new ArrayList<>(names), new ArrayList<>(tensors));
    }

    public int size() {
        return tensors.size();
    }

    public String name(int i) {
        return names.get(i);
    }

    public Tensor get(int i) {
        return tensors.get(i);
    }

    public List<String> names() {
        return names;
    }

    public List<Tensor> tensors() {
        return tensors;
    }

    @Override
    public Iterator<Tensor> iterator() {
        return tensors.iterator();
    }

    /** The parameters as the {@code TensorVector} libtorch's functions and optimizers take. */
    public TensorVector toVector() {
        return new TensorVector(tensors.toArray(new Tensor[0]));
    }

    /** Total number of scalar parameters. */
    public long numel() {
        long n = 0;
        for (Tensor t : tensors) {
            n += t.numel();
        }
        return n;
    }

    /** True when no parameter holds NaN or an infinity. */
    public boolean allFinite() {
        return firstNonFinite().isEmpty();
    }

    /** The name of the first parameter that holds NaN or an infinity, in order; empty when all are finite. */
    public Optional<String> firstNonFinite() {
        for (int i = 0; i < tensors.size(); i++) {
            if (!torch.isfinite(tensors.get(i)).all().item_bool()) {
                return Optional.of(names.get(i));
            }
        }
        return Optional.empty();
    }

    /**
     * The name of the first parameter, or else buffer (a batch norm's running statistics), of {@code module} that
     * holds NaN or an infinity; empty when every one is finite.
     */
    public static Optional<String> firstNonFiniteState(Module module) {
        Optional<String> parameter = of(module).firstNonFinite();
        if (parameter.isPresent()) {
            return parameter;
        }
        StringTensorDict buffers = module.named_buffers(true);
        for (long i = 0; i < buffers.size(); i++) {
            if (!torch.isfinite(buffers.get(i).value()).all().item_bool()) {
                return Optional.of(buffers.get(i).key().getString());
            }
        }
        return Optional.empty();
    }

    /**
     * SHA-256 of the parameters' values as little-endian float32 bytes, in named-parameter order: two
     * runs that end with bit-identical weights have the same checksum.
     */
    public String checksum() {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
        for (Tensor t : tensors) {
            float[] values = Tensors.toFloats(t.detach());
            ByteBuffer buf = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            buf.asFloatBuffer().put(values);
            sha.update(buf);
        }
        return HexFormat.of().formatHex(sha.digest());
    }
}
