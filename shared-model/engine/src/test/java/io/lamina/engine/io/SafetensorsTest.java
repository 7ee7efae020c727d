package io.lamina.engine.io;

import io.lamina.engine.io.Safetensors.SafetensorsFile;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsTest {

    private static HostTensor t(long[] shape, float... data) {
        return new HostTensor(shape, data);
    }

    /** Builds a raw file from a header string and data bytes, for hand-made (possibly broken) files. */
    private static byte[] raw(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    private static byte[] shorts(int... v) {
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int s : v) b.putShort((short) s);
        return b.array();
    }

    @Test
    void roundTripsTensorsAndMetadata() {
        Map<String, HostTensor> in = new LinkedHashMap<>();
        in.put("b", t(new long[]{2, 3}, 1, 2, 3, 4, 5, -6.5f));
        in.put("a", t(new long[]{3}, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY));
        in.put("scalar", t(new long[]{}, 42f));
        in.put("empty", t(new long[]{0, 4}));
        byte[] bytes = Safetensors.write(in, Map.of("format", "pt", "note", "ünïcode"));

        SafetensorsFile f = Safetensors.read(bytes);
        assertThat(f.tensors()).containsOnlyKeys("a", "b", "scalar", "empty");
        assertThat(f.tensors().get("b")).isEqualTo(in.get("b"));
        assertThat(f.tensors().get("a")).isEqualTo(in.get("a")); // Arrays.equals treats NaN as equal
        assertThat(f.tensors().get("scalar").shape()).isEmpty();
        assertThat(f.tensors().get("scalar").data()).containsExactly(42f);
        assertThat(f.tensors().get("empty").shape()).containsExactly(0, 4);
        assertThat(f.metadata()).containsExactlyInAnyOrderEntriesOf(Map.of("format", "pt", "note", "ünïcode"));
    }

    @Test
    void writeIsDeterministicAndLayoutFollowsTheFormat() {
        Map<String, HostTensor> one = new LinkedHashMap<>();
        one.put("z", t(new long[]{1}, 1f));
        one.put("a", t(new long[]{2}, 2f, 3f));
        Map<String, HostTensor> two = new LinkedHashMap<>();
        two.put("a", t(new long[]{2}, 2f, 3f));
        two.put("z", t(new long[]{1}, 1f));
        Map<String, String> m1 = new LinkedHashMap<>();
        m1.put("y", "1");
        m1.put("x", "2");
        byte[] b1 = Safetensors.write(one, m1);
        byte[] b2 = Safetensors.write(two, Map.of("x", "2", "y", "1"));
        assertThat(b1).isEqualTo(b2);

        long headerLen = ByteBuffer.wrap(b1).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertThat(headerLen % 8).isZero();
        String header = new String(b1, 8, (int) headerLen, StandardCharsets.UTF_8);
        assertThat(header.trim()).isEqualTo("{\"__metadata__\":{\"x\":\"2\",\"y\":\"1\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}");
        // data: a then z, little-endian float32
        ByteBuffer data = ByteBuffer.wrap(b1, 8 + (int) headerLen, 12).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(data.getFloat()).isEqualTo(2f);
        assertThat(data.getFloat()).isEqualTo(3f);
        assertThat(data.getFloat()).isEqualTo(1f);
    }

    @Test
    void readsHandWrittenFileWithoutMetadata() {
        byte[] f = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]}}", floats(0.5f, -1f));
        SafetensorsFile file = Safetensors.read(f);
        assertThat(file.metadata()).isEmpty();
        assertThat(file.tensors().get("w")).isEqualTo(t(new long[]{2, 1}, 0.5f, -1f));
    }

    @Test
    void convertsF16AndBf16ToFloat32() {
        // F16: 1.0=0x3C00, -2.0=0xC000, 65504=0x7BFF, smallest subnormal 0x0001=2^-24, +inf 0x7C00, -0 0x8000
        // BF16: 1.0=0x3F80, -3.0=0xC040, 0.15625=0x3E20
        String header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[6],\"data_offsets\":[0,12]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[12,18]}}";
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        data.writeBytes(shorts(0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x8000));
        data.writeBytes(shorts(0x3F80, 0xC040, 0x3E20));
        SafetensorsFile f = Safetensors.read(raw(header, data.toByteArray()));
        float[] h = f.tensors().get("h").data();
        assertThat(h[0]).isEqualTo(1f);
        assertThat(h[1]).isEqualTo(-2f);
        assertThat(h[2]).isEqualTo(65504f);
        assertThat(h[3]).isEqualTo((float) Math.pow(2, -24));
        assertThat(h[4]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Float.floatToRawIntBits(h[5])).isEqualTo(0x80000000);
        assertThat(f.tensors().get("b").data()).containsExactly(1f, -3f, 0.15625f);
        assertThat(Float.isNaN(Safetensors.halfToFloat((short) 0x7E00))).isTrue();
        assertThat(Safetensors.halfToFloat((short) 0x0400)).isEqualTo((float) Math.pow(2, -14));
    }

    @Test
    void rejectsBadHeaderLengths() {
        assertThatThrownBy(() -> Safetensors.read(new byte[5]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("too short");
        byte[] huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(200L * 1024 * 1024).array();
        assertThatThrownBy(() -> Safetensors.read(huge))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exceeds the limit");
        byte[] negative = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array();
        assertThatThrownBy(() -> Safetensors.read(negative))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("18446744073709551615");
        byte[] beyondFile = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(9).array();
        assertThatThrownBy(() -> Safetensors.read(beyondFile))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exceeds the file");
    }

    @Test
    void rejectsMalformedJson() {
        assertThatThrownBy(() -> Safetensors.read(raw("{\"w\": {", new byte[0])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("malformed JSON");
        assertThatThrownBy(() -> Safetensors.read(raw("[1,2]   ", new byte[0])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("JSON object");
        assertThatThrownBy(() -> Safetensors.read(raw("{} {}", new byte[0])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("malformed JSON");
        String dup = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        assertThatThrownBy(() -> Safetensors.read(raw(dup, floats(1f))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("malformed JSON");
        assertThatThrownBy(() -> Safetensors.read(raw("{\"__metadata__\":{\"a\":1}}", new byte[0])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("metadata value for 'a'");
        byte[] notUtf8 = raw("{\"\u00e9\":1}", new byte[0]);
        notUtf8[10] = (byte) 0xFF;
        assertThatThrownBy(() -> Safetensors.read(notUtf8))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("UTF-8");
    }

    @Test
    void rejectsUnsupportedDtypeAndBadFields() {
        assertThatThrownBy(() -> Safetensors.read(raw("{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unsupported dtype 'F64'");
        assertThatThrownBy(() -> Safetensors.read(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("shape[0] must be a non-negative integer");
        assertThatThrownBy(() -> Safetensors.read(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", new byte[4])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("shape[0]");
        assertThatThrownBy(() -> Safetensors.read(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", new byte[4])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'data_offsets' as [begin, end]");
        assertThatThrownBy(() -> Safetensors.read(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", new byte[4])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown field 'x'");
        assertThatThrownBy(() -> Safetensors.read(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999,99999999999],\"data_offsets\":[0,4]}}", new byte[4])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("too many elements");
    }

    @Test
    void rejectsOffsetsOutOfRangeOverlappingOrMismatched() {
        assertThatThrownBy(() -> Safetensors.read(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("out of range");
        assertThatThrownBy(() -> Safetensors.read(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("span 4 bytes").hasMessageContaining("needs 8");
        assertThatThrownBy(() -> Safetensors.read(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", new byte[4])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("end before begin");
        String overlap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        assertThatThrownBy(() -> Safetensors.read(raw(overlap, new byte[12])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overlap");
        String gap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        assertThatThrownBy(() -> Safetensors.read(raw(gap, new byte[12])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gap");
        assertThatThrownBy(() -> Safetensors.read(raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[6])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("data buffer is 6 bytes but tensors cover 4");
    }

    @Test
    void rejectsReservedOrNullInputsOnWrite() {
        assertThatThrownBy(() -> Safetensors.write(Map.of("__metadata__", HostTensor.zeros(1)), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reserved");
        assertThatThrownBy(() -> Safetensors.write(Map.of("", HostTensor.zeros(1)), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("non-empty");
    }
}
