package io.lamina.engine.tensor;

import java.util.Arrays;

/**
 * A dense float32 tensor held in Java memory, row-major. This is the engine's exchange type
 * between DJL (device memory), safetensors files and the services: it owns no native memory,
 * so it can be cached, hashed and serialised freely.
 */
public record HostTensor(long[] shape, float[] data) {
    public HostTensor {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
        }
        shape = shape.clone();
    }

    public static HostTensor zeros(long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return new HostTensor(shape, new float[Math.toIntExact(n)]);
    }

    public int rows() { return (int) shape[0]; }

    public int cols() { return (int) shape[shape.length - 1]; }

    public float get(int row, int col) { return data[row * cols() + col]; }

    @Override
    public boolean equals(Object o) {
        return o instanceof HostTensor t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() { return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data); }

    @Override
    public String toString() { return "HostTensor" + Arrays.toString(shape); }
}
