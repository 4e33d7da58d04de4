package dev.gradguard.task;

import dev.gradguard.io.RegularFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A UTF-8 text file as character ids: the vocabulary is the file's distinct code points in ascending
 * order, the last 10% of the characters (rounded down) are held out, the rest are the training split.
 * Immutable.
 */
final class TextCorpus {
    /** Fraction of the characters, from the end of the file, held out for evaluation. */
    static final double HELD_OUT_FRACTION = 0.1;
    /** Largest file read: the text is held in memory as one array. */
    static final long MAX_BYTES = 1L << 30;

    private final int[] vocabulary;
    private final int[] train;
    private final int[] heldOut;

    private TextCorpus(int[] vocabulary, int[] train, int[] heldOut) {
        this.vocabulary = vocabulary;
        this.train = train;
        this.heldOut = heldOut;
    }

    /**
     * Reads and splits {@code path}.
     *
     * @param window the training window length; the training split must hold {@code window + 1}
     *     characters (a window and its next-character targets)
     * @throws DataException if the file is missing, not a regular file (a directory, a named pipe, a device), unreadable, empty, over 1 GiB, not UTF-8 text
     *     (malformed, or holding NUL characters as binary files do), has fewer than two distinct
     *     characters, or is too short for the window and a held-out split of at least two characters
     */
    static TextCorpus load(Path path, int window) {
        int[] codePoints = decode(path, read(path));
        int n = codePoints.length;
        int held = (int) (n * HELD_OUT_FRACTION);
        int trainLength = n - held;
        if (trainLength < window + 1 || held < 2) {
            throw new DataException(path, "too short: " + n + " characters, the training split (first 90%) must "
                    + "hold at least " + (window + 1) + " for windows of length " + window
                    + " and the held-out split (last 10%) at least 2");
        }
        int[] vocabulary = Arrays.stream(codePoints).distinct().sorted().toArray();
        if (vocabulary.length < 2) {
            throw new DataException(path, "holds only one distinct character, nothing to predict");
        }
        int[] ids = Arrays.stream(codePoints).map(c -> Arrays.binarySearch(vocabulary, c)).toArray();
        return new TextCorpus(vocabulary, Arrays.copyOfRange(ids, 0, trainLength),
                Arrays.copyOfRange(ids, trainLength, n));
    }

    private static byte[] read(Path path) {
        RegularFiles.whyUnreadable(path, MAX_BYTES).ifPresent(why -> {
            throw new DataException(path, why);
        });
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new DataException(path, "does not exist", e);
        } catch (AccessDeniedException e) {
            throw new DataException(path, "cannot be read: permission denied", e);
        } catch (IOException e) {
            throw new DataException(path, "cannot be read: " + e.getMessage(), e);
        }
        if (bytes.length == 0) {
            throw new DataException(path, "is empty");
        }
        return bytes;
    }

    private static int[] decode(Path path, byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            throw new DataException(path, "is not UTF-8 text (invalid byte sequence at byte offset "
                    + in.position() + "; binary or another encoding?)");
        }
        decoder.flush(out);
        out.flip();
        String text = out.toString();
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        int nul = text.indexOf('\0');
        if (nul >= 0) {
            throw new DataException(path, "is not text: it holds a NUL character (character " + nul + "), "
                    + "as binary files do");
        }
        return text.codePoints().toArray();
    }

    /** Number of distinct characters. */
    int vocabularySize() {
        return vocabulary.length;
    }

    /** The code point of character id {@code id}. */
    int codePoint(int id) {
        return vocabulary[id];
    }

    /** The training split as character ids; a copy. */
    int[] train() {
        return train.clone();
    }

    /** The held-out split as character ids; a copy. */
    int[] heldOut() {
        return heldOut.clone();
    }

    int trainLength() {
        return train.length;
    }

    int heldOutLength() {
        return heldOut.length;
    }

    /** Entropy in bits of the character frequencies of the training split: a context-free model's best. */
    double trainUnigramBits() {
        long[] counts = new long[vocabulary.length];
        for (int id : train) {
            counts[id]++;
        }
        double bits = 0;
        for (long c : counts) {
            if (c > 0) {
                double p = (double) c / train.length;
                bits -= p * Math.log(p) / Math.log(2);
            }
        }
        return bits;
    }
}
