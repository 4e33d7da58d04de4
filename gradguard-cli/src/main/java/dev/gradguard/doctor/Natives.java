package dev.gradguard.doctor;

/** Which of libtorch's native builds is on the class path. */
public enum Natives {
    /** {@code org.bytedeco:pytorch:...:linux-x86_64}: CPU only. */
    CPU,
    /** {@code org.bytedeco:pytorch:...:linux-x86_64-gpu}: CUDA build (the {@code -Pgpu} profile). */
    GPU,
    /** Neither: the class path lacks libtorch's natives. */
    NONE;

    /** The name the JSON report uses. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
