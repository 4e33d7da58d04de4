package dev.gradguard.dist;

/**
 * A collective operation or the rendezvous failed: a peer died, the network failed, or nothing arrived
 * within the process group's timeout. The job cannot continue; the launcher then stops the other workers.
 */
public final class CollectiveException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CollectiveException(String message, Throwable cause) {
        super(message, cause);
    }
}
