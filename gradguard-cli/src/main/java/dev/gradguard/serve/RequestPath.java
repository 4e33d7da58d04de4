package dev.gradguard.serve;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Splits a request's raw (still percent-encoded) path into decoded segments, refusing anything that could
 * name a file outside the served directory: {@code .} and {@code ..} segments (plain or encoded), encoded
 * slashes, backslashes and dots, NUL and other control characters, empty segments ({@code //}), and
 * malformed escapes or UTF-8. The dashboard never maps a path to a file directly (a segment only ever
 * names a run, looked up by {@link RunCatalog}); this is the first of two checks.
 */
final class RequestPath {
    private RequestPath() {
    }

    /** A path the server refuses, with the reason (sent as a 400). */
    static final class BadPathException extends Exception {
        BadPathException(String message) {
            super(message);
        }
    }

    /**
     * The decoded segments of {@code rawPath}; {@code "/"} gives none, and one trailing slash is ignored.
     *
     * @throws BadPathException when the path is refused
     */
    static List<String> segments(String rawPath) throws BadPathException {
        if (rawPath == null || !rawPath.startsWith("/")) {
            throw new BadPathException("the path must start with '/'");
        }
        String lower = rawPath.toLowerCase(Locale.ROOT);
        if (lower.contains("%2e") || lower.contains("%2f") || lower.contains("%5c") || rawPath.contains("\\")) {
            throw new BadPathException("encoded dots, slashes and backslashes are not allowed in paths");
        }
        String body = rawPath.substring(1);
        if (body.endsWith("/")) {
            body = body.substring(0, body.length() - 1);
        }
        List<String> segments = new ArrayList<>();
        if (body.isEmpty()) {
            return segments;
        }
        for (String raw : body.split("/", -1)) {
            String s = decode(raw);
            if (s.isEmpty() || s.equals(".") || s.equals("..")) {
                throw new BadPathException("empty, '.' and '..' path segments are not allowed");
            }
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') {
                    throw new BadPathException("control characters, slashes and backslashes are not allowed in a name");
                }
            }
            segments.add(s);
        }
        return segments;
    }

    /** Percent-decoding of one segment as UTF-8 ('+' stays '+', as in paths). */
    private static String decode(String raw) throws BadPathException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= raw.length()) {
                    throw new BadPathException("a malformed %-escape");
                }
                int hi = Character.digit(raw.charAt(i + 1), 16);
                int lo = Character.digit(raw.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw new BadPathException("a malformed %-escape");
                }
                bytes.write(hi * 16 + lo);
                i += 2;
            } else if (c > 0x7e || c < 0x21) {
                throw new BadPathException("unencoded non-ASCII or space characters are not allowed in paths");
            } else {
                bytes.write(c);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw new BadPathException("a path segment is not valid UTF-8");
        }
    }
}
