package dev.gradguard.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gradguard.engine.Tensors;
import dev.gradguard.engine.Torch;
import dev.gradguard.model.CharLstm;
import dev.gradguard.model.Model;
import dev.gradguard.model.Parameters;
import dev.gradguard.model.RecurrentNet;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorIndexVector;
import org.bytedeco.pytorch.TensorIndex;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void loadNatives() {
        Torch.load();
    }

    @Test
    void aFileWrittenByPythonSafetensorsReadsExactly() throws Exception {
        Path file = dir.resolve("python.safetensors");
        JsonNode expected = RealPython.runScript("safetensors", "safetensors_check.py", "write", file.toString());

        SafeTensorsFile read = SafeTensors.read(file);
        assertEquals(Map.of("format", "pt", "note", "written by safetensors.torch.save_file"), read.metadata());
        List<String> names = new ArrayList<>();
        expected.get("tensors").fieldNames().forEachRemaining(names::add);
        assertEquals(names.stream().sorted().toList(), read.names().stream().sorted().toList());
        for (String name : names) {
            JsonNode e = expected.get("tensors").get(name);
            Tensor t = read.tensor(name).orElseThrow();
            assertEquals(e.get("dtype").asText(), read.dtype(name).orElseThrow(), name);
            long[] shape = new long[e.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = e.get("shape").get(i).asLong();
            }
            assertArrayEquals(shape, t.sizes().vec().get(), name);
            double[] values = new double[e.get("values").size()];
            for (int i = 0; i < values.length; i++) {
                JsonNode v = e.get("values").get(i);
                values[i] = v.isTextual() ? Double.parseDouble(v.asText()) : v.asDouble();
            }
            // bit-exact, NaN, infinities and -0.0 included (assertArrayEquals compares doubles by their bits)
            assertArrayEquals(values, Tensors.toDoubles(t), name);
        }
    }

    @Test
    void aGruClassifierWrittenByJavaLoadsStrictlyInPyTorchWithTheSameChecksum() throws Exception {
        torch.manual_seed(3);
        RecurrentNet model = new RecurrentNet(RecurrentNet.Cell.GRU, 6, 32, 4);
        assertLoadsInPyTorch(model, "gru:6:32:4");
    }

    @Test
    void aCharLstmWrittenByJavaLoadsStrictlyInPyTorchWithTheSameChecksum() throws Exception {
        torch.manual_seed(4);
        CharLstm model = new CharLstm(20, 8, 16);
        assertLoadsInPyTorch(model, "charlm:20:8:16");
    }

    private void assertLoadsInPyTorch(Model model, String spec) throws Exception {
        Path file = dir.resolve("java.safetensors");
        Parameters parameters = Parameters.of(model.module());
        Map<String, String> metadata = Map.of("format", "pt", "task", "unit test");
        SafeTensors.write(file, parameters, metadata);

        JsonNode loaded = RealPython.runScript("safetensors", "safetensors_check.py", "load", file.toString(), spec);
        assertEquals(parameters.checksum(), loaded.get("param_checksum").asText());
        List<String> pythonNames = new ArrayList<>();
        loaded.get("names").forEach(n -> pythonNames.add(n.asText()));
        assertEquals(parameters.names(), pythonNames);
        loaded.get("dtypes").forEach(d -> assertEquals("torch.float32", d.asText()));
        assertEquals("unit test", loaded.get("metadata").get("task").asText());
        assertEquals(parameters.checksum(), sha256OfDataSection(file));
    }

    @Test
    void theDataSectionOfAFloat32ModelHashesToItsParameterChecksum() throws Exception {
        torch.manual_seed(5);
        RecurrentNet model = new RecurrentNet(RecurrentNet.Cell.LSTM, 3, 7, 2);
        Path file = dir.resolve("lstm.safetensors");
        SafeTensors.write(file, Parameters.of(model.module()), Map.of());
        assertEquals(Parameters.of(model.module()).checksum(), sha256OfDataSection(file));
        long headerLength = ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "the header is padded so that the data starts 8-byte aligned");
    }

    @Test
    void aFileWrittenByJavaRestoresExactlyTheWeightsInAFreshModel() throws IOException {
        torch.manual_seed(1);
        RecurrentNet source = new RecurrentNet(RecurrentNet.Cell.GRU, 6, 32, 4);
        torch.manual_seed(2);
        RecurrentNet target = new RecurrentNet(RecurrentNet.Cell.GRU, 6, 32, 4);
        String before = Parameters.of(target.module()).checksum();
        assertNotEquals(Parameters.of(source.module()).checksum(), before);

        Path file = dir.resolve("gru.safetensors");
        SafeTensors.write(file, Parameters.of(source.module()), Map.of("task", "temporal-order"));
        Map<String, String> metadata = SafeTensors.load(file, target.module());

        assertEquals(Map.of("task", "temporal-order"), metadata);
        assertEquals(Parameters.of(source.module()).checksum(), Parameters.of(target.module()).checksum());
    }

    @Test
    void weightsWithNaNOrAnInfinityAreRefusedAndTheModelIsUntouched() throws IOException {
        torch.manual_seed(1);
        RecurrentNet source = new RecurrentNet(RecurrentNet.Cell.GRU, 6, 8, 4);
        RecurrentNet target = new RecurrentNet(RecurrentNet.Cell.GRU, 6, 8, 4);
        String before = Parameters.of(target.module()).checksum();
        Parameters p = Parameters.of(source.module());
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            List<Tensor> tensors = p.tensors().stream().map(Tensor::clone).toList();
            tensors.get(3).view(-1).index_put_(new TensorIndexVector(new TensorIndex(2)), new Scalar(bad));
            Path file = dir.resolve("bad.safetensors");
            Files.deleteIfExists(file);
            SafeTensors.write(file, Parameters.of(p.names(), tensors), Map.of());
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.load(file, target.module()));
            assertEquals(file + ": tensor '" + p.name(3) + "' holds NaN or an infinity; refusing to load non-finite "
                    + "weights", e.getMessage());
            assertEquals(before, Parameters.of(target.module()).checksum(), "nothing was copied");
        }
    }

    @Test
    void otherDtypesAreWrittenAsTheyAreAndReadBack() throws IOException {
        Tensor half = Tensors.fromFloats(new float[] {0.5f, -2f, 65504f}, 3).to(torch.ScalarType.Half);
        Tensor ids = Tensors.fromLongs(new long[] {-1, 1L << 40}, 1, 2);
        Tensor doubles = Tensors.fromDoubles(new double[] {Math.PI}, 1);
        Path file = dir.resolve("mixed.safetensors");
        SafeTensors.write(file, Parameters.of(List.of("half", "ids", "pi"), List.of(half, ids, doubles)), Map.of());

        SafeTensorsFile read = SafeTensors.read(file);
        assertEquals("F16", read.dtype("half").orElseThrow());
        assertEquals("I64", read.dtype("ids").orElseThrow());
        assertEquals("F64", read.dtype("pi").orElseThrow());
        assertArrayEquals(new double[] {0.5, -2, 65504}, Tensors.toDoubles(read.tensor("half").orElseThrow()));
        assertArrayEquals(new double[] {-1, 1L << 40}, Tensors.toDoubles(read.tensor("ids").orElseThrow()));
        assertArrayEquals(new double[] {Math.PI}, Tensors.toDoubles(read.tensor("pi").orElseThrow()));
        // 8-byte elements first, then 2-byte ones, as the reference writer aligns them
        assertEquals(List.of("ids", "pi", "half"), read.names());
    }

    @Test
    void aFileForAnotherModelIsRefusedWithTheFirstDifferencesAndTheModelUntouched() throws IOException {
        torch.manual_seed(1);
        Path file = dir.resolve("gru32.safetensors");
        SafeTensors.write(file, Parameters.of(new RecurrentNet(RecurrentNet.Cell.GRU, 6, 32, 4).module()), Map.of());

        RecurrentNet smaller = new RecurrentNet(RecurrentNet.Cell.GRU, 6, 16, 4);
        String before = Parameters.of(smaller.module()).checksum();
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.load(file, smaller.module()));
        assertEquals(file + ": does not fit the model: different rnn.weight_ih_l0 shape [96, 6] in the file, [48, 6] "
                + "in the model, rnn.weight_hh_l0 shape [96, 32] in the file, [48, 16] in the model, rnn.bias_ih_l0 "
                + "shape [96] in the file, [48] in the model (and 2 more)", e.getMessage());
        assertEquals(before, Parameters.of(smaller.module()).checksum());

        CharLstm other = new CharLstm(10, 4, 8);
        e = assertThrows(SafeTensorsException.class, () -> SafeTensors.load(file, other.module()));
        assertTrue(e.getMessage().contains("does not fit the model: missing embedding.weight, lstm.weight_ih_l0, "
                + "lstm.weight_hh_l0 (and 2 more); unexpected rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0 "
                + "(and 1 more); different head.weight shape [4, 32] in the file, [10, 8] in the model, head.bias shape "
                + "[4] in the file, [10] in the model"), e.getMessage());

        Path doubles = dir.resolve("f64.safetensors");
        Parameters p = Parameters.of(smaller.module());
        List<Tensor> asDouble = p.tensors().stream().map(t -> t.to(torch.ScalarType.Double)).toList();
        SafeTensors.write(doubles, Parameters.of(p.names(), asDouble), Map.of());
        e = assertThrows(SafeTensorsException.class, () -> SafeTensors.load(doubles, smaller.module()));
        assertTrue(e.getMessage().contains("different rnn.weight_ih_l0 dtype F64 in the file, F32 in the model"), e.getMessage());
    }

    @Test
    void malformedFilesAreRefusedInOneLineNamingWhatIsWrong() throws IOException {
        String good = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]}}";
        assertEquals(List.of("a", "b"), SafeTensors.read(file(good, 16)).names());

        assertRefused(file("{\"a\":", 0), "the header is not valid JSON");
        assertRefused(file("[1,2]", 0), "the header does not start with '{'");
        assertRefused(file(good.replace("[8,16]", "[8,24]"), 16), "tensor 'b' holds 16 bytes, but I64 of shape [] needs 8");
        assertRefused(file(good.replace("[8,16]", "[16,24]").replace("[0,8]", "[0,16]").replace("[2]", "[4]"), 16),
                "tensor 'b' has data_offsets [16, 24] outside the data section of 16 bytes");
        assertRefused(file(good.replace("[8,16]", "[4,12]"), 16), "tensor 'b' has data_offsets [4, 12], but the data "
                + "must be contiguous: the previous tensor ends at 8 (overlap)");
        assertRefused(file(good.replace("[8,16]", "[12,20]"), 20), "the previous tensor ends at 8 (gap)");
        assertRefused(file(good, 24), "the data section holds 24 bytes, but the tensors cover 16");
        assertRefused(file(good.replace("F32", "F31"), 16), "tensor 'a' has dtype \"F31\", allowed: BOOL, U8");
        assertRefused(file(good.replace("[2]", "[-2]"), 16), "tensor 'a''s shape must be an array of integers >= 0");
        assertRefused(file(good.replace("\"b\"", "\"a\""), 16), "the header is not valid JSON: Duplicate field 'a'");
        assertRefused(file("{\"__metadata__\":{\"k\":1}," + good.substring(1), 16), "__metadata__.k must be a string");
        assertRefused(file(good.replace("\"shape\":[]", "\"shape\":[],\"x\":1"), 16), "tensor 'b' has an unknown field 'x'");

        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(200_000_000L).array());
        assertRefused(huge, "header length 200000000 is above the format's limit");
        Path past = dir.resolve("past.safetensors");
        Files.write(past, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(100).array());
        assertRefused(past, "header length 100 runs past the end of the 16-byte file");
        assertRefused(dir.resolve("absent.safetensors"), "no such file");
        assertRefused(Files.createDirectories(dir.resolve("a-directory.safetensors")),
                "is a directory, not a regular file");
    }

    private int files;

    /** A file with {@code header} (unpadded) and {@code dataBytes} zero bytes of data. */
    private Path file(String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        Path f = dir.resolve("case" + files++ + ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private static void assertRefused(Path file, String expected) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    private static String sha256OfDataSection(Path file) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(bytes, (int) (8 + headerLength), (int) (bytes.length - 8 - headerLength));
        return HexFormat.of().formatHex(sha.digest());
    }
}
