package dev.gradguard.task;

import dev.gradguard.session.Evaluation;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradguard.data.Batch;
import dev.gradguard.data.BatchSource;
import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.Model;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CharLmTaskTest {
    private static Path tiny;
    private static String text;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws URISyntaxException, IOException {
        Torch.load();
        tiny = Path.of(CharLmTaskTest.class.getResource("/charlm/tiny.txt").toURI());
        text = Files.readString(tiny);
    }

    private static CharLmTask task(Path path, int seqLen) {
        return new CharLmTask(TaskOptions.defaults().withDataPath(path).withSeqLen(seqLen).withHidden(16));
    }

    @Test
    void vocabularyIsTheFilesDistinctCharactersAndTheLastTenthIsHeldOut() {
        CharLmTask task = task(tiny, 64);
        TextCorpus corpus = task.corpus();
        int[] codePoints = text.codePoints().toArray();
        assertEquals(text.codePoints().distinct().count(), task.vocabularySize());
        int held = codePoints.length / 10;
        assertEquals(held, corpus.heldOutLength());
        assertEquals(codePoints.length - held, corpus.trainLength());
        StringBuilder decoded = new StringBuilder();
        for (int id : corpus.heldOut()) {
            decoded.appendCodePoint(corpus.codePoint(id));
        }
        assertEquals(text.substring(text.length() - held), decoded.toString());
        for (int i = 1; i < task.vocabularySize(); i++) {
            assertTrue(corpus.codePoint(i - 1) < corpus.codePoint(i));
        }
    }

    @Test
    void baselineIsTheUnigramEntropyOfTheTrainingSplit() {
        int[] train = text.codePoints().limit(text.length() - text.length() / 10).toArray();
        Map<Integer, Integer> counts = new TreeMap<>();
        for (int c : train) {
            counts.merge(c, 1, Integer::sum);
        }
        double bits = 0;
        for (int n : counts.values()) {
            double p = n / (double) train.length;
            bits -= p * Math.log(p) / Math.log(2);
        }
        Evaluation e = task(tiny, 64).evaluate(uniform(task(tiny, 64).vocabularySize()));
        assertEquals(bits, e.baseline(), 1e-12);
        assertTrue(bits > 3.5 && bits < 5, "English letters carry about 4 bits each, got " + bits);
    }

    @Test
    void aUniformPredictorScoresLog2OfTheVocabulary() {
        for (int seqLen : new int[] {64, 7}) {
            CharLmTask task = task(tiny, seqLen);
            Evaluation e = task.evaluate(uniform(task.vocabularySize()));
            assertEquals("bits_per_char", e.metric());
            assertEquals(Math.log(task.vocabularySize()) / Math.log(2), e.value(), 1e-5);
            assertFalse(e.learned());
        }
    }

    @Test
    void anUntrainedModelScoresAboutLog2OfTheVocabulary() {
        torch.manual_seed(0);
        CharLmTask task = task(tiny, 64);
        Evaluation e = task.evaluate(task.createModel("lstm"));
        assertEquals(Math.log(task.vocabularySize()) / Math.log(2), e.value(), 0.2);
        assertEquals(String.format(java.util.Locale.ROOT, "bits_per_char < %.4f (baseline - 0.5)", e.baseline() - 0.5),
                e.criterion());
    }

    @Test
    void trainingWindowsAreConsecutiveTrainingTextWithTargetsShiftedByOne() {
        CharLmTask task = task(tiny, 20);
        TextCorpus corpus = task.corpus();
        String train = text.substring(0, corpus.trainLength());
        Batch batch = task.trainingData(1, 50).next();
        assertArrayEquals(new long[] {20, 50}, batch.input().sizes().vec().get());
        double[] x = Tensors.toDoubles(batch.input());
        double[] y = Tensors.toDoubles(batch.target());
        for (int b = 0; b < 50; b++) {
            StringBuilder window = new StringBuilder();
            for (int t = 0; t < 20; t++) {
                window.appendCodePoint(corpus.codePoint((int) x[t * 50 + b]));
                if (t > 0) {
                    assertEquals(x[t * 50 + b], y[(t - 1) * 50 + b]);
                }
            }
            window.appendCodePoint(corpus.codePoint((int) y[19 * 50 + b]));
            assertTrue(train.contains(window), "window " + b + " is not training text: " + window);
        }
    }

    @Test
    void restoredStateContinuesWithTheIdenticalNextBatch() {
        BatchSource source = task(tiny, 16).trainingData(2, 4);
        source.next();
        Map<String, Object> saved = source.stateDict();
        double[] expected = Tensors.toDoubles(source.next().input());
        BatchSource resumed = task(tiny, 16).trainingData(77, 4);
        resumed.loadStateDict(saved);
        assertArrayEquals(expected, Tensors.toDoubles(resumed.next().input()));
    }

    @Test
    void lossIsMeanCrossEntropyOverAllSteps() {
        CharLmTask task = task(tiny, 8);
        Tensor logits = torch.zeros(8, 3, task.vocabularySize());
        Tensor target = Tensors.fromLongs(new long[24], 8, 3);
        assertEquals(Math.log(task.vocabularySize()), task.loss(logits, target).item_double(), 1e-5);
    }

    @Test
    void aMissingFileIsNamed() {
        Path missing = dir.resolve("nope.txt");
        DataException e = assertThrows(DataException.class, () -> task(missing, 64));
        assertEquals("data file " + missing + ": does not exist", e.getMessage());
        assertEquals(missing, e.path());
    }

    @Test
    void anEmptyFileIsNamed() throws IOException {
        Path empty = Files.createFile(dir.resolve("empty.txt"));
        assertEquals("data file " + empty + ": is empty",
                assertThrows(DataException.class, () -> task(empty, 64)).getMessage());
    }

    @Test
    void aDirectoryIsNamed() {
        assertEquals("data file " + dir + ": is a directory, not a regular file",
                assertThrows(DataException.class, () -> task(dir, 64)).getMessage());
    }

    @Test
    void invalidUtf8IsNamedWithItsOffset() throws IOException {
        Path latin1 = dir.resolve("latin1.txt");
        Files.write(latin1, "caf\u00e9 au lait".repeat(20).getBytes(StandardCharsets.ISO_8859_1));
        assertEquals("data file " + latin1 + ": is not UTF-8 text (invalid byte sequence at byte offset 3; "
                + "binary or another encoding?)", assertThrows(DataException.class, () -> task(latin1, 8)).getMessage());
    }

    @Test
    void binaryWithNulBytesIsRejected() throws IOException {
        Path binary = dir.resolve("data.bin");
        byte[] bytes = new byte[400];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i % 64);
        }
        Files.write(binary, bytes);
        assertEquals("data file " + binary + ": is not text: it holds a NUL character (character 0), as binary files do",
                assertThrows(DataException.class, () -> task(binary, 8)).getMessage());
    }

    @Test
    void tooShortForTheWindowIsNamed() throws IOException {
        Path shortFile = dir.resolve("short.txt");
        Files.writeString(shortFile, "abcdefghij".repeat(7));
        DataException e = assertThrows(DataException.class, () -> task(shortFile, 64));
        assertEquals("data file " + shortFile + ": too short: 70 characters, the training split (first 90%) must hold "
                + "at least 65 for windows of length 64 and the held-out split (last 10%) at least 2", e.getMessage());
        assertEquals(63, task(shortFile, 62).corpus().trainLength());
    }

    @Test
    void aFileOverOneGibibyteIsRejectedBeforeReading() throws IOException {
        Path huge = dir.resolve("huge.txt");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(huge.toFile(), "rw")) {
            f.setLength(TextCorpus.MAX_BYTES + 1); // sparse: no disk space is used
        }
        assertEquals("data file " + huge + ": is too large: 1073741825 bytes, at most 1073741824",
                assertThrows(DataException.class, () -> task(huge, 8)).getMessage());
    }

    @Test
    void aSingleRepeatedCharacterIsRejected() throws IOException {
        Path same = dir.resolve("same.txt");
        Files.writeString(same, "x".repeat(200));
        assertEquals("data file " + same + ": holds only one distinct character, nothing to predict",
                assertThrows(DataException.class, () -> task(same, 8)).getMessage());
    }

    @Test
    void multiByteCharactersAreSingleTokensAndAByteOrderMarkIsDropped() throws IOException {
        Path utf8 = dir.resolve("utf8.txt");
        Files.writeString(utf8, "\uFEFF" + "h\u00e9llo w\u00f6rld \uD83D\uDE00 ".repeat(10));
        CharLmTask task = task(utf8, 8);
        // h é l o space w ö r d and the emoji (one code point outside the BMP)
        assertEquals(10, task.vocabularySize());
        assertEquals(140, task.corpus().trainLength() + task.corpus().heldOutLength());
    }

    @Test
    void missingDataPathIsAConfigurationError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new CharLmTask(TaskOptions.defaults()));
        assertFalse(e instanceof DataException);
        assertEquals("task charlm needs a UTF-8 text file: set dataPath (--data PATH)", e.getMessage());
    }

    private static Model uniform(int vocabulary) {
        return new Model() {
            private final org.bytedeco.pytorch.Module module = new org.bytedeco.pytorch.Module();

            @Override
            public org.bytedeco.pytorch.Module module() {
                return module;
            }

            @Override
            public Tensor forward(Tensor tokens) {
                return torch.zeros(tokens.size(0), tokens.size(1), vocabulary);
            }
        };
    }
}
