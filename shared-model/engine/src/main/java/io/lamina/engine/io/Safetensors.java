package io.lamina.engine.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lamina.engine.tensor.HostTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a> format:
 * an unsigned 64-bit little-endian header length, a UTF-8 JSON header
 * {@code {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}}
 * and the raw little-endian tensor bytes, offsets relative to the end of the header.
 *
 * <p>Writing is deterministic: tensors are laid out in name order, header keys are sorted and the
 * header is padded with spaces to a multiple of 8 bytes, so equal input gives equal bytes.
 * Reading accepts F32, F16 and BF16 (converted to float32) and validates everything it reads
 * before allocating, so a hostile file fails with an {@link IllegalArgumentException} that says
 * what is wrong rather than with an out-of-memory error or garbage.
 */
public final class Safetensors {

    /** Largest header accepted on read. */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    /** Reserved header key holding free-form string metadata. */
    public static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .build();

    /** A parsed file: tensors in name order, and the header's metadata (empty if absent). */
    public record SafetensorsFile(Map<String, HostTensor> tensors, Map<String, String> metadata) {
        public SafetensorsFile {
            tensors = Collections.unmodifiableSortedMap(new TreeMap<>(tensors));
            metadata = Collections.unmodifiableSortedMap(new TreeMap<>(metadata));
        }
    }

    private Safetensors() {
    }

    /** Writes tensors as F32 with no metadata. */
    public static byte[] write(Map<String, HostTensor> tensors) {
        return write(tensors, Map.of());
    }

    /**
     * Writes tensors as F32.
     *
     * @param metadata may be {@code null} or empty; written as {@code __metadata__} when not empty
     */
    public static byte[] write(Map<String, HostTensor> tensors, Map<String, String> metadata) {
        return write(tensors, metadata, name -> false);
    }

    /**
     * Writes tensors as F32, except those {@code int32} names, written as I32: their values must be integers of
     * magnitude at most {@value #MAX_EXACT_INT} (exact in float32), e.g. sparse-diff indices.
     */
    public static byte[] write(Map<String, HostTensor> tensors, Map<String, String> metadata, java.util.function.Predicate<String> int32) {
        if (tensors == null) throw new IllegalArgumentException("tensors must not be null");
        SortedMap<String, HostTensor> sorted = new TreeMap<>();
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name == null || name.isEmpty()) throw new IllegalArgumentException("tensor names must be non-empty");
            if (name.equals(METADATA_KEY)) throw new IllegalArgumentException("tensor name '" + METADATA_KEY + "' is reserved");
            if (e.getValue() == null) throw new IllegalArgumentException("tensor '" + name + "' is null");
            sorted.put(name, e.getValue());
        }

        ObjectNode header = JsonNodeFactory.instance.objectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject(METADATA_KEY);
            for (Map.Entry<String, String> m : new TreeMap<>(metadata).entrySet()) {
                if (m.getValue() == null) throw new IllegalArgumentException("metadata value for '" + m.getKey() + "' is null");
                meta.put(m.getKey(), m.getValue());
            }
        }
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : sorted.entrySet()) {
            HostTensor t = e.getValue();
            ObjectNode info = header.putObject(e.getKey());
            boolean asInt = int32.test(e.getKey());
            if (asInt) {
                for (float v : t.data()) {
                    if (v != Math.rint(v) || Math.abs(v) > MAX_EXACT_INT) {
                        throw new IllegalArgumentException("tensor '" + e.getKey() + "' is written as I32 but holds " + v + " (an integer of magnitude <= " + MAX_EXACT_INT + " is needed)");
                    }
                }
            }
            info.put("dtype", asInt ? "I32" : "F32");
            ArrayNode shape = info.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            long size = 4L * t.data().length;
            ArrayNode offsets = info.putArray("data_offsets");
            offsets.add(offset);
            offsets.add(offset + size);
            offset += size;
        }

        byte[] headerBytes;
        try {
            headerBytes = JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode safetensors header", e);
        }
        int padded = (headerBytes.length + 7) / 8 * 8;
        long total = 8L + padded + offset;
        if (total > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("safetensors file would be " + total + " bytes, too large for one array");

        ByteBuffer out = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(headerBytes);
        for (int i = headerBytes.length; i < padded; i++) out.put((byte) ' ');
        for (Map.Entry<String, HostTensor> e : sorted.entrySet()) {
            float[] d = e.getValue().data();
            if (int32.test(e.getKey())) {
                java.nio.IntBuffer ints = out.asIntBuffer();
                for (float v : d) ints.put((int) v);
            } else {
                out.asFloatBuffer().put(d);
            }
            out.position(out.position() + 4 * d.length);
        }
        return out.array();
    }

    /** Parses and validates a safetensors file; every tensor must be F32, F16 or BF16. */
    public static SafetensorsFile read(byte[] bytes) {
        return read(bytes, false, name -> false);
    }

    /** Largest integer magnitude an I32 tensor may hold to be read into (or written from) float32 exactly: 2^24. */
    public static final int MAX_EXACT_INT = 1 << 24;

    /**
     * {@link #read(byte[])} that also accepts I32 tensors with {@code int32} names (e.g. sparse-diff indices),
     * returned as floats; a value of magnitude above {@value #MAX_EXACT_INT} (not exact in float32) is refused.
     * Other I32 tensors are refused as by {@link #read(byte[])}.
     */
    public static SafetensorsFile read(byte[] bytes, java.util.function.Predicate<String> int32) {
        return read(bytes, false, int32);
    }

    /**
     * Parses and validates a model's safetensors file, whose integer buffers (e.g. BERT's
     * {@code embeddings.position_ids}, I64) are checked like the rest but left out of the result.
     */
    public static SafetensorsFile readFloatTensors(byte[] bytes) {
        return read(bytes, true, name -> false);
    }

    private static SafetensorsFile read(byte[] bytes, boolean skipIntegers, java.util.function.Predicate<String> int32) {
        if (bytes == null) throw new IllegalArgumentException("safetensors bytes must not be null");
        if (bytes.length < 8) throw new IllegalArgumentException("safetensors file too short: " + bytes.length + " bytes, need at least 8 for the header length");
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = buf.getLong(0);
        if (headerLen < 0 || headerLen > MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("safetensors header length " + Long.toUnsignedString(headerLen) + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (headerLen < 2) throw new IllegalArgumentException("safetensors header length " + headerLen + " is too small for a JSON object");
        if (headerLen > bytes.length - 8L) {
            throw new IllegalArgumentException("safetensors header length " + headerLen + " exceeds the file (" + (bytes.length - 8) + " bytes after the length prefix)");
        }
        int dataStart = 8 + (int) headerLen;
        long dataLen = bytes.length - (long) dataStart;

        String headerText;
        try {
            headerText = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, 8, (int) headerLen)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("safetensors header is not valid UTF-8", e);
        }
        if (!headerText.startsWith("{")) throw new IllegalArgumentException("safetensors header must be a JSON object starting with '{'");
        JsonNode header;
        try {
            header = JSON.readTree(headerText);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("safetensors header is malformed JSON: " + e.getOriginalMessage(), e);
        }
        if (header == null || !header.isObject()) throw new IllegalArgumentException("safetensors header must be a JSON object");

        Map<String, String> metadata = new TreeMap<>();
        List<Entry> entries = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> fields = header.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            String name = f.getKey();
            JsonNode node = f.getValue();
            if (name.equals(METADATA_KEY)) {
                if (!node.isObject()) throw new IllegalArgumentException("safetensors " + METADATA_KEY + " must be a JSON object of strings");
                node.fields().forEachRemaining(m -> {
                    if (!m.getValue().isTextual()) throw new IllegalArgumentException("safetensors metadata value for '" + m.getKey() + "' must be a string");
                    metadata.put(m.getKey(), m.getValue().textValue());
                });
                continue;
            }
            if (name.isEmpty()) throw new IllegalArgumentException("safetensors tensor name must not be empty");
            Entry entry = parseEntry(name, node, dataLen);
            if (!entry.dtype.floating && !skipIntegers && !(entry.dtype == DType.I32 && int32.test(name))) {
                throw new IllegalArgumentException("safetensors tensor '" + name + "' has unsupported dtype '" + entry.dtype + "', supported: [F32, F16, BF16]");
            }
            entries.add(entry);
        }

        // Offsets must tile the data buffer: no overlaps, no gaps, nothing unaccounted for.
        List<Entry> byOffset = new ArrayList<>(entries);
        byOffset.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end).thenComparing(Entry::name));
        long expected = 0;
        String previous = null;
        for (Entry e : byOffset) {
            if (e.begin < expected) {
                throw new IllegalArgumentException("safetensors tensor '" + e.name + "' data_offsets [" + e.begin + ", " + e.end + "] overlap tensor '" + previous + "' ending at " + expected);
            }
            if (e.begin > expected) {
                throw new IllegalArgumentException("safetensors tensor '" + e.name + "' starts at " + e.begin + " but the previous tensor ends at " + expected + " (gap in data buffer)");
            }
            expected = e.end;
            previous = e.name;
        }
        if (expected != dataLen) {
            throw new IllegalArgumentException("safetensors data buffer is " + dataLen + " bytes but tensors cover " + expected);
        }

        Map<String, HostTensor> tensors = new TreeMap<>();
        for (Entry e : entries) {
            if (e.dtype.floating) tensors.put(e.name, new HostTensor(e.shape, decode(bytes, dataStart + (int) e.begin, e.dtype, e.count)));
            else if (e.dtype == DType.I32 && int32.test(e.name)) tensors.put(e.name, new HostTensor(e.shape, decodeInt32(bytes, dataStart + (int) e.begin, e.name, e.count)));
        }
        return new SafetensorsFile(tensors, metadata);
    }

    private enum DType {
        F32(4, true), F16(2, true), BF16(2, true), F64(8, false), I64(8, false), I32(4, false), I16(2, false), I8(1, false),
        U8(1, false), BOOL(1, false);
        final int size;
        /** Decoded to float32; the others are only validated (and only where a caller skips them). */
        final boolean floating;

        DType(int size, boolean floating) {
            this.size = size;
            this.floating = floating;
        }
    }

    private record Entry(String name, DType dtype, long[] shape, int count, long begin, long end) {
    }

    private static Entry parseEntry(String name, JsonNode node, long dataLen) {
        String where = "safetensors tensor '" + name + "'";
        if (!node.isObject()) throw new IllegalArgumentException(where + " must be a JSON object");
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String k = names.next();
            if (!k.equals("dtype") && !k.equals("shape") && !k.equals("data_offsets")) {
                throw new IllegalArgumentException(where + " has unknown field '" + k + "'");
            }
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) throw new IllegalArgumentException(where + " needs a string 'dtype'");
        DType dtype;
        try {
            dtype = DType.valueOf(dtypeNode.textValue());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + " has unsupported dtype '" + dtypeNode.textValue() + "', supported: [F32, F16, BF16]");
        }

        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) throw new IllegalArgumentException(where + " needs an array 'shape'");
        if (shapeNode.size() > 16) throw new IllegalArgumentException(where + " has " + shapeNode.size() + " dimensions, at most 16 supported");
        long[] shape = new long[shapeNode.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            long d = nonNegativeLong(shapeNode.get(i), where + " shape[" + i + "]");
            shape[i] = d;
            if (d != 0 && count > (Integer.MAX_VALUE - 8) / d) {
                throw new IllegalArgumentException(where + " shape " + shapeNode + " has too many elements");
            }
            count *= d;
        }

        JsonNode off = node.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2) throw new IllegalArgumentException(where + " needs 'data_offsets' as [begin, end]");
        long begin = nonNegativeLong(off.get(0), where + " data_offsets[0]");
        long end = nonNegativeLong(off.get(1), where + " data_offsets[1]");
        if (end < begin) throw new IllegalArgumentException(where + " data_offsets [" + begin + ", " + end + "] end before begin");
        if (end > dataLen) throw new IllegalArgumentException(where + " data_offsets [" + begin + ", " + end + "] out of range of the " + dataLen + "-byte data buffer");
        long expectedBytes = count * dtype.size;
        if (end - begin != expectedBytes) {
            throw new IllegalArgumentException(where + " data_offsets [" + begin + ", " + end + "] span " + (end - begin)
                    + " bytes but shape " + Arrays.toString(shape) + " of " + dtype + " needs " + expectedBytes);
        }
        return new Entry(name, dtype, shape, (int) count, begin, end);
    }

    private static long nonNegativeLong(JsonNode n, String what) {
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0) {
            throw new IllegalArgumentException(what + " must be a non-negative integer, got " + n);
        }
        return n.longValue();
    }

    private static float[] decode(byte[] bytes, int start, DType dtype, int count) {
        float[] out = new float[count];
        ByteBuffer b = ByteBuffer.wrap(bytes, start, count * dtype.size).slice().order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> b.asFloatBuffer().get(out);
            case BF16 -> {
                for (int i = 0; i < count; i++) out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
            }
            case F16 -> {
                for (int i = 0; i < count; i++) out[i] = halfToFloat(b.getShort(2 * i));
            }
        }
        return out;
    }

    private static float[] decodeInt32(byte[] bytes, int start, String name, int count) {
        float[] out = new float[count];
        ByteBuffer b = ByteBuffer.wrap(bytes, start, count * 4).slice().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            int v = b.getInt(4 * i);
            if (v > MAX_EXACT_INT || v < -MAX_EXACT_INT) {
                throw new IllegalArgumentException("safetensors tensor '" + name + "' holds " + v + " at element " + i + ", beyond +-" + MAX_EXACT_INT + " (not exact in float32)");
            }
            out[i] = v;
        }
        return out;
    }

    /** IEEE 754 binary16 to binary32, exact (including subnormals, infinities and NaN). */
    static float halfToFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        if (exp == 0) {
            float v = mant * 0x1p-24f; // subnormal (or zero): mant * 2^-24, exact in float
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }
}
