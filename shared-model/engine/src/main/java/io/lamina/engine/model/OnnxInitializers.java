package io.lamina.engine.model;

import io.lamina.engine.tensor.HostTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal reader for the parts of an ONNX {@code ModelProto} the engine needs: the graph's
 * nodes (to recover which anonymous weight belongs to which layer) and its initializers (the
 * weights). It understands just enough protobuf (varints, length-delimited fields, fixed
 * 32/64-bit fields to skip) and only {@code raw_data} or {@code float_data}/{@code int64_data}
 * tensors of type FLOAT (1) and INT64 (7). External data is not supported.
 *
 * <p>Field numbers used (onnx.proto): ModelProto.graph = 7; GraphProto.node = 1,
 * GraphProto.initializer = 5; NodeProto input = 1, output = 2, name = 3, op_type = 4;
 * TensorProto dims = 1, data_type = 2, float_data = 4, int64_data = 7, name = 8, raw_data = 9.
 */
public final class OnnxInitializers {
    /** ONNX {@code TensorProto.DataType.FLOAT}. */
    public static final int FLOAT = 1;
    /** ONNX {@code TensorProto.DataType.INT64}. */
    public static final int INT64 = 7;

    /** One graph node (only the fields the engine reads). */
    public record Node(String name, String opType, List<String> inputs, List<String> outputs) {
        public Node {
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
        }
    }

    /**
     * One initializer. Exactly one of {@code floats} / {@code longs} is non-null, by {@code dataType}.
     */
    public record Initializer(String name, long[] dims, int dataType, float[] floats, long[] longs) {
        /** This float initializer as a host tensor with the ONNX shape. */
        public HostTensor toHostTensor() {
            if (dataType != FLOAT) throw new IllegalStateException(name + " is not float32 (data_type " + dataType + ")");
            return new HostTensor(dims, floats);
        }
    }

    private final List<Node> nodes;
    private final Map<String, Initializer> initializers;

    private OnnxInitializers(List<Node> nodes, Map<String, Initializer> initializers) {
        this.nodes = Collections.unmodifiableList(nodes);
        this.initializers = Collections.unmodifiableMap(initializers);
    }

    /** Parses a serialized {@code ModelProto}. */
    public static OnnxInitializers parse(byte[] model) {
        List<Node> nodes = new ArrayList<>();
        Map<String, Initializer> inits = new LinkedHashMap<>();
        Reader r = new Reader(model, 0, model.length);
        boolean sawGraph = false;
        while (r.hasMore()) {
            long key = r.varint();
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (field == 7 && wire == 2) {
                sawGraph = true;
                Reader g = r.sub();
                parseGraph(g, nodes, inits);
            } else {
                r.skip(wire);
            }
        }
        if (!sawGraph) throw new IllegalArgumentException("not an ONNX model: no graph field");
        return new OnnxInitializers(nodes, inits);
    }

    public List<Node> nodes() { return nodes; }

    /** Initializers by name, in file order. */
    public Map<String, Initializer> initializers() { return initializers; }

    /**
     * Names the anonymous MatMul weights ({@code onnx::MatMul_NNN}) of a BERT export: for each
     * MatMul whose second input is an initializer, follows its output to the Add that consumes
     * it and whose other input is a named bias initializer ({@code X.bias}), and names the weight
     * {@code X.weight}. The weights stay in ONNX's {@code [in, out]} layout.
     *
     * @return map from the ONNX initializer name to the Hugging Face style weight name
     */
    public Map<String, String> namedMatMulWeights() {
        Map<String, List<Node>> consumers = new HashMap<>();
        for (Node n : nodes) {
            for (String in : n.inputs()) consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
        }
        Map<String, String> names = new LinkedHashMap<>();
        for (Node n : nodes) {
            if (!n.opType().equals("MatMul") || n.inputs().size() != 2) continue;
            String weight = n.inputs().get(1);
            if (!initializers.containsKey(weight)) continue;
            String out = n.outputs().get(0);
            for (Node c : consumers.getOrDefault(out, List.of())) {
                if (!c.opType().equals("Add")) continue;
                for (String other : c.inputs()) {
                    if (!other.equals(out) && other.endsWith(".bias") && initializers.containsKey(other)) {
                        String hf = other.substring(0, other.length() - ".bias".length()) + ".weight";
                        String previous = names.put(weight, hf);
                        if (previous != null && !previous.equals(hf)) {
                            throw new IllegalStateException("weight " + weight + " maps to both " + previous + " and " + hf);
                        }
                    }
                }
            }
        }
        return names;
    }

    /**
     * All float initializers under Hugging Face style names: named tensors keep their names,
     * MatMul weights are renamed by {@link #namedMatMulWeights()} (layout {@code [in, out]}).
     * Unnamed tensors that cannot be identified are left out.
     */
    public Map<String, HostTensor> namedFloatTensors() {
        Map<String, String> renamed = namedMatMulWeights();
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Initializer init : initializers.values()) {
            if (init.dataType() != FLOAT) continue;
            String name = renamed.getOrDefault(init.name(), init.name());
            if (name.startsWith("onnx::")) continue;
            out.put(name, init.toHostTensor());
        }
        return out;
    }

    private static void parseGraph(Reader g, List<Node> nodes, Map<String, Initializer> inits) {
        while (g.hasMore()) {
            long key = g.varint();
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (field == 1 && wire == 2) {
                nodes.add(parseNode(g.sub()));
            } else if (field == 5 && wire == 2) {
                Initializer t = parseTensor(g.sub());
                inits.put(t.name(), t);
            } else {
                g.skip(wire);
            }
        }
    }

    private static Node parseNode(Reader n) {
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        String name = "";
        String op = "";
        while (n.hasMore()) {
            long key = n.varint();
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (wire == 2 && field >= 1 && field <= 4) {
                String s = n.string();
                switch (field) {
                    case 1 -> inputs.add(s);
                    case 2 -> outputs.add(s);
                    case 3 -> name = s;
                    default -> op = s;
                }
            } else {
                n.skip(wire);
            }
        }
        return new Node(name, op, inputs, outputs);
    }

    private static Initializer parseTensor(Reader t) {
        List<Long> dims = new ArrayList<>();
        int dataType = 0;
        String name = "";
        byte[] raw = null;
        List<Float> floatData = new ArrayList<>();
        List<Long> longData = new ArrayList<>();
        while (t.hasMore()) {
            long key = t.varint();
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            switch (field) {
                case 1 -> {
                    if (wire == 2) {
                        Reader p = t.sub();
                        while (p.hasMore()) dims.add(p.varint());
                    } else if (wire == 0) {
                        dims.add(t.varint());
                    } else {
                        t.skip(wire);
                    }
                }
                case 2 -> {
                    if (wire == 0) dataType = (int) t.varint(); else t.skip(wire);
                }
                case 4 -> {
                    if (wire == 2) {
                        Reader p = t.sub();
                        while (p.hasMore()) floatData.add(Float.intBitsToFloat(p.fixed32()));
                    } else if (wire == 5) {
                        floatData.add(Float.intBitsToFloat(t.fixed32()));
                    } else {
                        t.skip(wire);
                    }
                }
                case 7 -> {
                    if (wire == 2) {
                        Reader p = t.sub();
                        while (p.hasMore()) longData.add(p.varint());
                    } else if (wire == 0) {
                        longData.add(t.varint());
                    } else {
                        t.skip(wire);
                    }
                }
                case 8 -> {
                    if (wire == 2) name = t.string(); else t.skip(wire);
                }
                case 9 -> {
                    if (wire == 2) raw = t.bytes(); else t.skip(wire);
                }
                case 14 -> {
                    if (wire == 0 && t.varint() != 0) throw new IllegalArgumentException("tensor uses external data, not supported");
                    else if (wire != 0) t.skip(wire);
                }
                default -> t.skip(wire);
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long count = 1;
        for (long d : shape) count *= d;
        int n = Math.toIntExact(count);
        if (dataType == FLOAT) {
            float[] values = new float[n];
            if (raw != null) {
                if (raw.length != 4L * n) throw new IllegalArgumentException(name + ": raw_data has " + raw.length + " bytes for " + n + " floats");
                ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
            } else {
                if (floatData.size() != n) throw new IllegalArgumentException(name + ": float_data has " + floatData.size() + " values for " + n);
                for (int i = 0; i < n; i++) values[i] = floatData.get(i);
            }
            return new Initializer(name, shape, dataType, values, null);
        } else if (dataType == INT64) {
            long[] values = new long[n];
            if (raw != null) {
                if (raw.length != 8L * n) throw new IllegalArgumentException(name + ": raw_data has " + raw.length + " bytes for " + n + " int64s");
                ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(values);
            } else {
                if (longData.size() != n) throw new IllegalArgumentException(name + ": int64_data has " + longData.size() + " values for " + n);
                for (int i = 0; i < n; i++) values[i] = longData.get(i);
            }
            return new Initializer(name, shape, dataType, null, values);
        }
        throw new IllegalArgumentException("initializer " + name + " has unsupported data_type " + dataType + " (shape " + Arrays.toString(shape) + ")");
    }

    /** A cursor over a protobuf byte range. */
    private static final class Reader {
        private final byte[] buf;
        private int pos;
        private final int end;

        Reader(byte[] buf, int pos, int end) {
            this.buf = buf;
            this.pos = pos;
            this.end = end;
        }

        boolean hasMore() { return pos < end; }

        long varint() {
            long result = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) throw new IllegalArgumentException("truncated varint");
                byte b = buf[pos++];
                result |= (long) (b & 0x7f) << shift;
                if ((b & 0x80) == 0) return result;
            }
            throw new IllegalArgumentException("malformed varint");
        }

        int fixed32() {
            need(4);
            int v = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8 | (buf[pos + 2] & 0xff) << 16 | (buf[pos + 3] & 0xff) << 24;
            pos += 4;
            return v;
        }

        private int length() {
            long len = varint();
            if (len < 0 || len > end - pos) throw new IllegalArgumentException("length " + len + " runs past the end of the message");
            return (int) len;
        }

        Reader sub() {
            int len = length();
            Reader r = new Reader(buf, pos, pos + len);
            pos += len;
            return r;
        }

        byte[] bytes() {
            int len = length();
            byte[] out = Arrays.copyOfRange(buf, pos, pos + len);
            pos += len;
            return out;
        }

        String string() {
            int len = length();
            String s = new String(buf, pos, len, StandardCharsets.UTF_8);
            pos += len;
            return s;
        }

        private void need(int n) {
            if (end - pos < n) throw new IllegalArgumentException("truncated message");
        }

        void skip(int wire) {
            switch (wire) {
                case 0 -> varint();
                case 1 -> { need(8); pos += 8; }
                case 2 -> {
                    int len = length(); // read first: 'pos += length()' would use the stale pos
                    pos += len;
                }
                case 5 -> { need(4); pos += 4; }
                default -> throw new IllegalArgumentException("unsupported protobuf wire type " + wire);
            }
        }
    }
}
