package dev.gradguard.libtorch;

import java.util.List;
import org.bytedeco.pytorch.Dispatcher;
import org.bytedeco.pytorch.GenericList;
import org.bytedeco.pytorch.IValue;
import org.bytedeco.pytorch.OperatorHandle;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorList;
import org.bytedeco.pytorch.TensorVector;

/**
 * Calls libtorch operators that the Java binding has no functions for ({@code _foreach_*}, {@code _fused_*})
 * through libtorch's dispatcher: one native call for a whole list of tensors. Internal to gradguard (this
 * package is not exported).
 */
public final class Operators {
    private Operators() {
    }

    /**
     * The operator {@code name.overload} (an empty overload for the unnamed one), with its handle kept past any
     * {@code PointerScope} open while the caller loads.
     *
     * @throws RuntimeException from libtorch when no such operator is registered
     */
    public static OperatorHandle find(String name, String overload) {
        return Dispatcher.singleton().findSchemaOrThrow(name, overload).retainReference();
    }

    /**
     * The tensors as the dispatcher's {@code Tensor[]} argument. The binding builds a
     * {@code c10::List<Tensor>} from a vector in one call but has no IValue constructor for it; a
     * {@code c10::List<T>} is one pointer to the same list object for every {@code T}, holding its element
     * type, so it is passed as the generic list it is, and libtorch sees a list of tensors. The list holds its
     * own references to the tensors.
     */
    public static IValue tensorList(List<Tensor> tensors) {
        // the binding fills the vector with one native call per tensor; the list and the IValue cost one each
        IValue list = new IValue(new GenericList(new TensorList(new TensorVector(tensors.toArray(Tensor[]::new)))));
        if (!list.isTensorList()) {
            throw new IllegalStateException("libtorch did not take a c10::List<Tensor> as a list of tensors");
        }
        return list;
    }
}
