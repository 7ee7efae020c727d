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

    /** {@code [r1, c]} above {@code [r2, c]}: {@code [r1 + r2, c]}. */
    public static HostTensor concatRows(HostTensor top, HostTensor bottom) {
        if (top.shape().length != 2 || bottom.shape().length != 2 || top.shape()[1] != bottom.shape()[1]) {
            throw new IllegalArgumentException("cannot stack " + java.util.Arrays.toString(top.shape()) + " on " + java.util.Arrays.toString(bottom.shape()));
        }
        float[] d = new float[top.data().length + bottom.data().length];
        System.arraycopy(top.data(), 0, d, 0, top.data().length);
        System.arraycopy(bottom.data(), 0, d, top.data().length, bottom.data().length);
        return new HostTensor(new long[]{top.shape()[0] + bottom.shape()[0], top.shape()[1]}, d);
    }

    /** {@code [r, c1]} left of {@code [r, c2]}: {@code [r, c1 + c2]}. */
    public static HostTensor concatColumns(HostTensor left, HostTensor right) {
        if (left.shape().length != 2 || right.shape().length != 2 || left.shape()[0] != right.shape()[0]) {
            throw new IllegalArgumentException("cannot join " + java.util.Arrays.toString(left.shape()) + " and " + java.util.Arrays.toString(right.shape()));
        }
        int rows = (int) left.shape()[0], c1 = (int) left.shape()[1], c2 = (int) right.shape()[1];
        float[] d = new float[rows * (c1 + c2)];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(left.data(), i * c1, d, i * (c1 + c2), c1);
            System.arraycopy(right.data(), i * c2, d, i * (c1 + c2) + c1, c2);
        }
        return new HostTensor(new long[]{rows, c1 + c2}, d);
    }
}
