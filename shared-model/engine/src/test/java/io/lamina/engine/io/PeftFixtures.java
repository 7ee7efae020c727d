package io.lamina.engine.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lamina.engine.tensor.HostTensor;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * PEFT adapter directories written from the format's description, for import tests: safetensors in F32, F16 or BF16
 * (PyTorch's half types, which PEFT keeps when a model is saved in half precision) and zips of named files.
 */
public final class PeftFixtures {
    private PeftFixtures() {
    }

    public static byte[] zip(Map<String, byte[]> files) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> f : new TreeMap<>(files).entrySet()) {
                z.putNextEntry(new ZipEntry(f.getKey()));
                z.write(f.getValue());
                z.closeEntry();
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A safetensors file of {@code tensors} stored as {@code dtype} (F32, F16 or BF16); half values must be exact (see {@link #exactF16}). */
    public static byte[] safetensors(Map<String, HostTensor> tensors, String dtype) {
        int size = dtype.equals("F32") ? 4 : 2;
        ObjectNode header = new ObjectMapper().createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : new TreeMap<>(tensors).entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", dtype);
            var shape = t.putArray("shape");
            for (long d : e.getValue().shape()) shape.add(d);
            long end = offset + (long) size * e.getValue().data().length;
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        for (HostTensor t : new TreeMap<>(tensors).values()) {
            for (float v : t.data()) {
                switch (dtype) {
                    case "F32" -> b.putFloat(v);
                    case "F16" -> b.putShort(f16(v));
                    case "BF16" -> b.putShort(bf16(v));
                    default -> throw new IllegalArgumentException(dtype);
                }
            }
        }
        return b.array();
    }

    /** {@code x} rounded to a multiple of 1/256 in [-4, 4]: exactly representable in float16. */
    public static float exactF16(double x) {
        return (float) (Math.max(-1024, Math.min(1024, Math.round(x * 256))) / 256.0);
    }

    /** {@code x} with its low 16 bits cleared: exactly representable in bfloat16. */
    public static float exactBf16(double x) {
        return Float.intBitsToFloat(Float.floatToIntBits((float) x) & 0xFFFF0000);
    }

    private static short bf16(float v) {
        int bits = Float.floatToIntBits(v);
        if (!Float.isNaN(v) && (bits & 0xFFFF) != 0) throw new IllegalArgumentException(v + " is not exact in bfloat16");
        return (short) (bits >>> 16);
    }

    private static short f16(float v) {
        if (Float.isNaN(v)) return (short) 0x7E00;
        int bits = Float.floatToIntBits(v);
        int sign = (bits >>> 16) & 0x8000;
        if (Float.isInfinite(v)) return (short) (sign | 0x7C00);
        if (v == 0f) return (short) sign;
        int exp = ((bits >>> 23) & 0xFF) - 127;
        int mant = bits & 0x7FFFFF;
        if (exp < -14 || exp > 15 || (mant & 0x1FFF) != 0) throw new IllegalArgumentException(v + " is not an exact float16 normal");
        return (short) (sign | ((exp + 15) << 10) | (mant >>> 13));
    }
}
