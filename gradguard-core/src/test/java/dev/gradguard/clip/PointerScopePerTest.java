package dev.gradguard.clip;

import dev.gradguard.engine.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Loads libtorch once for a test class and runs each test inside a {@link PointerScope} of its own, closed after it,
 * so that the tensors a test creates are freed when it ends. Registered before a class's own {@code @BeforeEach}
 * methods run, so those create their tensors inside the scope too.
 */
final class PointerScopePerTest implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(PointerScopePerTest.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        Torch.load();
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NAMESPACE).put(PointerScope.class, new PointerScope());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        context.getStore(NAMESPACE).remove(PointerScope.class, PointerScope.class).close();
    }
}
