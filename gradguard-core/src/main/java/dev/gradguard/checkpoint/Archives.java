package dev.gradguard.checkpoint;

import java.io.ByteArrayOutputStream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.ArchiveWriter;
import org.bytedeco.pytorch.OutputArchive;

/**
 * libtorch archives as bytes in Java. libtorch's own file writer reports a failed write (a full disk) by a C++
 * exception that the bindings cannot always turn into a Java one, and then the whole JVM aborts. Serializing
 * into memory through a writer callback and writing the bytes with Java's file API makes every I/O failure an
 * ordinary {@link java.io.IOException}.
 */
public final class Archives {
    private Archives() {
    }

    /** The archive's bytes, exactly as {@code save_to(path)} would write them. */
    public static byte[] bytes(OutputArchive archive) {
        try (Collector collector = new Collector()) {
            archive.save_to(collector);
            return collector.out.toByteArray();
        }
    }

    /** libtorch calls {@link #call} with each chunk of the archive; it must return the bytes it took. */
    private static final class Collector extends ArchiveWriter {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        @Override
        public long call(Pointer data, long size) {
            byte[] chunk = new byte[Math.toIntExact(size)];
            new BytePointer(data).capacity(size).get(chunk);
            out.write(chunk, 0, chunk.length);
            return size;
        }
    }
}
