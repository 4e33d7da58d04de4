package dev.gradguard.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.gradguard.io.RegularFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** Reads a run's config file: YAML ({@code .yaml}, {@code .yml}) or JSON ({@code .json}), a flat map of keys. */
public final class ConfigFiles {
    /** The largest config file read (a config is a few hundred bytes). */
    static final long MAX_BYTES = 1 << 20;

    private ConfigFiles() {
    }

    /** A parser's multi-line message as one line: its sentences, without the excerpts and carets. */
    private static String oneLine(String message) {
        StringBuilder out = new StringBuilder();
        for (String line : message.split("\\R")) {
            String t = line.trim();
            if (t.isEmpty() || t.startsWith("in 'reader'") || t.matches("\\^+") || line.startsWith("    ")) {
                continue;
            }
            out.append(out.length() == 0 ? "" : "; ").append(t);
        }
        return out.toString();
    }

    /**
     * @return the file's keys and values, in file order
     * @throws IllegalArgumentException with one line naming the file and what is wrong with it: missing, not a
     *     regular file (a named pipe, a device, a directory), over {@link #MAX_BYTES}, not UTF-8, not valid
     *     YAML or JSON, a key given twice, or not a map
     */
    public static Map<String, Object> read(Path file) {
        String name = file.getFileName() == null ? file.toString() : file.getFileName().toString().toLowerCase(Locale.ROOT);
        ObjectMapper mapper;
        if (name.endsWith(".json")) {
            mapper = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
        } else if (name.endsWith(".yaml") || name.endsWith(".yml")) {
            mapper = YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
        } else {
            throw new IllegalArgumentException("config file " + file + " must end in .yaml, .yml or .json");
        }
        RegularFiles.whyUnreadable(file, MAX_BYTES).ifPresent(why -> {
            throw new IllegalArgumentException("config file " + file + " " + why);
        });
        String text;
        try {
            byte[] bytes = Files.readAllBytes(file);
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("config file " + file + " does not exist");
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("config file " + file + " is not UTF-8 text");
        } catch (IOException e) {
            throw new IllegalArgumentException("config file " + file + " cannot be read: " + e.getMessage());
        }
        if (text.isBlank()) {
            throw new IllegalArgumentException("config file " + file + " is empty");
        }
        Object root;
        try {
            root = mapper.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new IllegalArgumentException("config file " + file + " is not valid "
                    + (mapper instanceof YAMLMapper ? "YAML" : "JSON") + where + ": " + oneLine(e.getOriginalMessage()));
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("config file " + file + " must hold a map of keys to values, e.g. 'lr: 0.1'");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        map.forEach((k, v) -> out.put(String.valueOf(k), v));
        return out;
    }
}
