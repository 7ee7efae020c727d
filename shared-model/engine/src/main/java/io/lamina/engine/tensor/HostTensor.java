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

    /** The rows of this matrix scaled to unit L2 norm (a zero row stays zero), e.g. head prototypes. */
    public float[][] normalisedRows() {
        int rows = rows();
        int cols = cols();
        float[][] out = new float[rows][cols];
        for (int r = 0; r < rows; r++) {
            double sq = 0;
            for (int c = 0; c < cols; c++) sq += (double) get(r, c) * get(r, c);
            float inv = (float) (1.0 / Math.max(Math.sqrt(sq), 1e-12));
            for (int c = 0; c < cols; c++) out[r][c] = get(r, c) * inv;
        }
        return out;
    }

    /** A copy of a DJL array in Java memory. */
    public static HostTensor of(ai.djl.ndarray.NDArray array) {
        return new HostTensor(array.getShape().getShape(), array.toFloatArray());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HostTensor t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() { return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data); }

    @Override
    public String toString() { return "HostTensor" + Arrays.toString(shape); }
}
