package dev.gradguard.interop;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gradguard.io.AtomicFiles;
import dev.gradguard.io.RegularFiles;
import dev.gradguard.model.Parameters;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Reads and writes Hugging Face's safetensors format, the weights file that PyTorch users load with
 * {@code safetensors.torch.load_file}: an 8-byte little-endian header length {@code N}, a UTF-8 JSON header
 * of {@code N} bytes ({@code {"__metadata__": {string: string}, NAME: {"dtype": "F32", "shape": [..],
 * "data_offsets": [BEGIN, END]}, ...}}), then the tensors' raw little-endian bytes, row-major, at those
 * offsets from the start of the data.
 *
 * <p>Writing follows the reference writer: the header is padded with spaces to a multiple of 8 bytes, and
 * the tensors are laid out largest element first (so each starts aligned to its element size). Tensors of
 * one element size keep the order given, so a model's float32 parameters are written in
 * {@code named_parameters()} order and the SHA-256 of the data section equals {@link Parameters#checksum()}.
 *
 * <p>Reading validates the file as the reference reader does, and more strictly: the header must be a JSON
 * object without duplicate keys, at most 100 MB, and name known dtypes with non-negative shapes; the data
 * offsets must tile the data section exactly (no gap, no overlap, nothing left over), each tensor's byte
 * count must equal its shape's element count times its dtype's size, and a tensor entry may have no other
 * field. Tensors are copied out of the file: nothing stays mapped. Bytes are little-endian, as on every
 * platform libtorch's Java presets support.
 *
 * <p>Hand-written because no Java library on Maven Central fits: DJL's {@code ai.djl:api} reads the format
 * into its own {@code NDArray}s, which need a second engine, and the small standalone readers are
 * unmaintained single-author projects.
 */
public final class SafeTensors {
    /** The header size above which a file is refused, as the reference reader refuses it. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    /** The header key of the string-to-string metadata. */
    public static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private SafeTensors() {
    }

    /**
     * Writes {@code tensors} with their names, and {@code metadata}, to {@code file} (replaced if it exists;
     * written to a temporary file first, then moved in place). Tensors keep their dtype and are copied to
     * the CPU.
     *
     * @param tensors e.g. {@code Parameters.of(module)}: a model's parameters under their
     *     {@code named_parameters()} names
     * @param metadata free-form strings stored in the header's {@code __metadata__}
     * @throws IllegalArgumentException for a duplicate or reserved name, or a dtype the format cannot hold
     * @throws IOException when the file cannot be written
     */
    public static void write(Path file, Parameters tensors, Map<String, String> metadata) throws IOException {
        List<Integer> order = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < tensors.size(); i++) {
            String name = tensors.name(i);
            if (name.equals(METADATA_KEY) || !seen.add(name)) {
                throw new IllegalArgumentException("cannot write a tensor named '" + name + "' twice or under the "
                        + "reserved name " + METADATA_KEY);
            }
            order.add(i);
        }
        // largest element size first (stable), as the reference writer aligns them
        order.sort(Comparator.comparingInt((Integer i) -> Dtype.of(tensors.get(i).scalar_type()).size).reversed());

        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) {
            header.put(METADATA_KEY, new LinkedHashMap<>(metadata));
        }
        List<Tensor> data = new ArrayList<>();
        long offset = 0;
        for (int i : order) {
            Tensor t = tensors.get(i).detach().cpu().contiguous();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", Dtype.of(t.scalar_type()).name());
            entry.put("shape", t.sizes().vec().get());
            entry.put("data_offsets", List.of(offset, offset + t.nbytes()));
            header.put(tensors.name(i), entry);
            offset += t.nbytes();
            data.add(t);
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();

        AtomicFiles.write(file, out -> {
            AtomicFiles.writeFully(out, head);
            for (Tensor t : data) {
                BytePointer bytes = new BytePointer(t.data_ptr());
                long n = t.nbytes();
                for (long done = 0; done < n; ) {
                    int chunk = (int) Math.min(n - done, 1 << 30);
                    AtomicFiles.writeFully(out, bytes.getPointer(done).capacity(chunk).asBuffer());
                    done += chunk;
                }
            }
        });
    }

    /**
     * Reads and validates a whole file.
     *
     * @throws SafeTensorsException naming the file and, in one line, what is wrong with it (including a
     *     missing file)
     * @throws IOException when an existing file cannot be read
     */
    public static SafeTensorsFile read(Path file) throws IOException {
        Optional<String> why = RegularFiles.whyNotRegular(file);
        if (why.isPresent()) {
            throw new SafeTensorsException(file, why.get());
        }
        if (!Files.exists(file)) {
            throw new SafeTensorsException(file, "no such file");
        }
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long length = in.size();
            if (length < 8) {
                throw new SafeTensorsException(file, "not a safetensors file: " + length + " bytes, shorter than the "
                        + "8-byte header length");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(in, lengthBytes, 0);
            long headerLength = lengthBytes.flip().getLong();
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
                throw new SafeTensorsException(file, "not a safetensors file: header length "
                        + Long.toUnsignedString(headerLength) + " is above the format's limit of " + MAX_HEADER_BYTES);
            }
            if (8 + headerLength > length) {
                throw new SafeTensorsException(file, "header length " + headerLength + " runs past the end of the "
                        + length + "-byte file");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(in, headerBytes, 8);
            long dataStart = 8 + headerLength;
            Map<String, String> metadata = new LinkedHashMap<>();
            List<SafeTensorsFile.Entry> entries = parseHeader(file, headerBytes.flip(), metadata);
            validateLayout(file, entries, length - dataStart);

            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (SafeTensorsFile.Entry e : entries) {
                tensors.put(e.name(), readTensor(in, dataStart, e));
            }
            return new SafeTensorsFile(file, entries, tensors, metadata);
        }
    }

    /**
     * Reads {@code file} and copies its tensors into {@code module}'s parameters of the same names; see
     * {@link SafeTensorsFile#loadInto}.
     *
     * @return the file's metadata
     * @throws SafeTensorsException when the file is invalid or does not fit the module (which is then
     *     untouched)
     * @throws IOException when an existing file cannot be read
     */
    public static Map<String, String> load(Path file, Module module) throws IOException {
        SafeTensorsFile read = read(file);
        read.loadInto(module);
        return read.metadata();
    }

    private static List<SafeTensorsFile.Entry> parseHeader(Path file, ByteBuffer bytes, Map<String, String> metadata) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsException(file, "the header is not UTF-8 text");
        }
        if (!text.startsWith("{")) {
            throw new SafeTensorsException(file, "the header does not start with '{' (not a safetensors file)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SafeTensorsException(file, "the header is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new SafeTensorsException(file, "the header is not a JSON object");
        }
        List<SafeTensorsFile.Entry> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals(METADATA_KEY)) {
                readMetadata(file, field.getValue(), metadata);
            } else {
                entries.add(readEntry(file, field.getKey(), field.getValue()));
            }
        }
        return entries;
    }

    private static void readMetadata(Path file, JsonNode node, Map<String, String> metadata) {
        if (!node.isObject()) {
            throw new SafeTensorsException(file, METADATA_KEY + " must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> m = it.next();
            if (!m.getValue().isTextual()) {
                throw new SafeTensorsException(file, METADATA_KEY + "." + m.getKey() + " must be a string, got "
                        + m.getValue().getNodeType().name().toLowerCase(java.util.Locale.ROOT));
            }
            metadata.put(m.getKey(), m.getValue().textValue());
        }
    }

    private static SafeTensorsFile.Entry readEntry(Path file, String name, JsonNode node) {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) {
            throw new SafeTensorsException(file, where + " must be an object with dtype, shape and data_offsets");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!List.of("dtype", "shape", "data_offsets").contains(key)) {
                throw new SafeTensorsException(file, where + " has an unknown field '" + key
                        + "' (allowed: dtype, shape, data_offsets)");
            }
        }
        JsonNode dtypeNode = node.get("dtype");
        Dtype dtype = dtypeNode != null && dtypeNode.isTextual() ? Dtype.named(dtypeNode.textValue()) : null;
        if (dtype == null) {
            throw new SafeTensorsException(file, where + " has dtype " + dtypeNode + ", allowed: " + Dtype.ALLOWED);
        }
        long[] shape = naturals(file, where + "'s shape", node.get("shape"), -1);
        long[] offsets = naturals(file, where + "'s data_offsets", node.get("data_offsets"), 2);
        return new SafeTensorsFile.Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    /** A JSON array of integers >= 0 that fit a long, of {@code count} elements (any when negative). */
    private static long[] naturals(Path file, String what, JsonNode node, int count) {
        String expected = count < 0 ? "an array of integers >= 0" : "an array of " + count + " integers >= 0";
        if (node == null || !node.isArray() || (count >= 0 && node.size() != count)) {
            throw new SafeTensorsException(file, what + " must be " + expected + ", got " + node);
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new SafeTensorsException(file, what + " must be " + expected + ", got " + node);
            }
            values[i] = v.longValue();
        }
        return values;
    }

    /** The tensors, in offset order, must cover the data section exactly, each with its shape's byte count. */
    private static void validateLayout(Path file, List<SafeTensorsFile.Entry> entries, long dataLength) {
        List<SafeTensorsFile.Entry> byOffset = new ArrayList<>(entries);
        byOffset.sort(Comparator.comparingLong(SafeTensorsFile.Entry::begin).thenComparingLong(SafeTensorsFile.Entry::end));
        long expected = 0;
        for (SafeTensorsFile.Entry e : byOffset) {
            String where = "tensor '" + e.name() + "' ";
            if (e.begin() != expected || e.end() < e.begin()) {
                throw new SafeTensorsException(file, where + "has data_offsets [" + e.begin() + ", " + e.end() + "], but the "
                        + "data must be contiguous: the previous tensor ends at " + expected
                        + (e.begin() < expected ? " (overlap)" : e.end() < e.begin() ? " (end before begin)" : " (gap)"));
            }
            long bytes;
            try {
                long elements = 1;
                for (long d : e.shape()) {
                    elements = Math.multiplyExact(elements, d);
                }
                bytes = Math.multiplyExact(elements, (long) e.dtype().size);
            } catch (ArithmeticException overflow) {
                throw new SafeTensorsException(file, where + "has a shape too large to address: "
                        + java.util.Arrays.toString(e.shape()));
            }
            if (e.end() - e.begin() != bytes) {
                throw new SafeTensorsException(file, where + "holds " + (e.end() - e.begin()) + " bytes, but " + e.dtype()
                        + " of shape " + java.util.Arrays.toString(e.shape()) + " needs " + bytes);
            }
            if (e.end() > dataLength) {
                throw new SafeTensorsException(file, where + "has data_offsets [" + e.begin() + ", " + e.end()
                        + "] outside the data section of " + dataLength + " bytes");
            }
            expected = e.end();
        }
        if (expected != dataLength) {
            throw new SafeTensorsException(file, "the data section holds " + dataLength + " bytes, but the tensors cover "
                    + expected);
        }
    }

    private static Tensor readTensor(FileChannel in, long dataStart, SafeTensorsFile.Entry e) throws IOException {
        TensorOptions options = new TensorOptions(e.dtype().scalarType);
        long n = e.end() - e.begin();
        if (n == 0) {
            return torch.zeros(e.shape(), options);
        }
        try (BytePointer bytes = new BytePointer(n)) {
            for (long done = 0; done < n; ) {
                int chunk = (int) Math.min(n - done, 1 << 30);
                readFully(in, bytes.getPointer(done).capacity(chunk).asBuffer(), dataStart + e.begin() + done);
                done += chunk;
            }
            return torch.from_blob(bytes, e.shape(), options).clone();
        }
    }

    private static void readFully(FileChannel in, ByteBuffer target, long position) throws IOException {
        long at = position;
        while (target.hasRemaining()) {
            int read = in.read(target, at);
            if (read < 0) {
                throw new IOException("unexpected end of file at byte " + at);
            }
            at += read;
        }
    }
}
