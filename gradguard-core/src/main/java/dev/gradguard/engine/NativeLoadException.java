package dev.gradguard.engine;

/** libtorch's native libraries could not be loaded; the message names the platform and what to check. */
public final class NativeLoadException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NativeLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
