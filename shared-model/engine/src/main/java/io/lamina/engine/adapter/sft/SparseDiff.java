package io.lamina.engine.adapter.sft;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One linear's sparse weight diff: {@code nnz} entries of an {@code [rows, cols]} ({@code [out, in]}) matrix at flat
 * row-major positions, strictly increasing, with finite values. Immutable (arrays are copied in and out).
 */
public final class SparseDiff {
    /** Largest dense size: positions are held in float32 tensors (exact up to 2^24) like every adapter weight. */
    public static final long MAX_ENTRIES = 1L << 24;

    private final int rows;
    private final int cols;
    private final int[] indices;
    private final float[] values;

    /**
     * @param what names the tensor in error messages
     */
    public SparseDiff(int rows, int cols, int[] indices, float[] values, String what) {
        if (rows < 1 || cols < 1) throw new IllegalArgumentException(what + ": shape [" + rows + ", " + cols + "] must be positive");
        long size = (long) rows * cols;
        if (size > MAX_ENTRIES) throw new IllegalArgumentException(what + ": shape [" + rows + ", " + cols + "] has more than " + MAX_ENTRIES + " entries");
        if (indices.length != values.length) {
            throw new IllegalArgumentException(what + ": " + indices.length + " indices but " + values.length + " values");
        }
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] < 0 || indices[i] >= size) {
                throw new IllegalArgumentException(what + ": index " + indices[i] + " at element " + i + " is outside [0, " + size + ") of shape [" + rows + ", " + cols + "]");
            }
            if (i > 0 && indices[i] <= indices[i - 1]) {
                throw new IllegalArgumentException(what + ": indices must be strictly increasing, element " + i + " is " + indices[i] + " after " + indices[i - 1]);
            }
            if (!Float.isFinite(values[i])) throw new IllegalArgumentException(what + ": value " + values[i] + " at element " + i);
        }
        this.rows = rows;
        this.cols = cols;
        this.indices = indices.clone();
        this.values = values.clone();
    }

    public SparseDiff(int rows, int cols, int[] indices, float[] values) {
        this(rows, cols, indices, values, "sparse diff");
    }

    /** The entries of a dense {@code [rows, cols]} diff whose magnitude exceeds {@code threshold}. */
    public static SparseDiff ofDense(float[] dense, int rows, int cols, float threshold) {
        if (dense.length != (long) rows * cols) throw new IllegalArgumentException("dense diff has " + dense.length + " values, shape [" + rows + ", " + cols + "] needs " + (long) rows * cols);
        int n = 0;
        for (float v : dense) if (Math.abs(v) > threshold) n++;
        int[] idx = new int[n];
        float[] val = new float[n];
        int at = 0;
        for (int i = 0; i < dense.length; i++) {
            if (Math.abs(dense[i]) > threshold) {
                idx[at] = i;
                val[at++] = dense[i];
            }
        }
        return new SparseDiff(rows, cols, idx, val);
    }

    public static SparseDiff empty(int rows, int cols) {
        return new SparseDiff(rows, cols, new int[0], new float[0]);
    }

    public int rows() { return rows; }

    public int cols() { return cols; }

    public int nnz() { return indices.length; }

    public int[] indices() { return indices.clone(); }

    public float[] values() { return values.clone(); }

    /** The dense {@code [rows, cols]} matrix, zero off the support. */
    public float[] toDense() {
        float[] out = new float[rows * cols];
        for (int i = 0; i < indices.length; i++) out[indices[i]] = values[i];
        return out;
    }

    /** Adds {@code sign ×} this diff into a dense {@code [rows, cols]} matrix, in place; entries off the support are not touched. */
    public void addInto(float[] dense, int sign) {
        if (dense.length != rows * cols) throw new IllegalArgumentException("dense matrix has " + dense.length + " values, the diff's shape [" + rows + ", " + cols + "] " + rows * cols);
        for (int i = 0; i < indices.length; i++) dense[indices[i]] += sign * values[i];
    }

    /**
     * The sum of diffs of one shape: the union of their supports, each entry the sum of its values. The sum does
     * not depend on the order of {@code parts}: each entry's values are added in ascending order (in double,
     * rounded once). Entries that cancel to exactly 0 are kept (the support says where the parts trained).
     */
    public static SparseDiff sum(List<SparseDiff> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("a sum of diffs needs at least one diff");
        // (part, element) packed in 32 bits: part < 256, element < 2^24
        if (parts.size() > 256) throw new IllegalArgumentException("at most 256 diffs can be added at once, got " + parts.size());
        int rows = parts.get(0).rows, cols = parts.get(0).cols;
        int total = 0;
        for (SparseDiff p : parts) {
            if (p.rows != rows || p.cols != cols) {
                throw new IllegalArgumentException("diffs of shapes [" + rows + ", " + cols + "] and [" + p.rows + ", " + p.cols + "] cannot be added");
            }
            total += p.nnz();
        }
        long[] keyed = new long[total]; // position in the high bits, the part's rank in the low bits
        float[][] vals = new float[parts.size()][];
        int at = 0;
        for (int q = 0; q < parts.size(); q++) {
            SparseDiff p = parts.get(q);
            vals[q] = p.values;
            for (int i = 0; i < p.nnz(); i++) keyed[at++] = ((long) p.indices[i] << 32) | ((long) q << 24) | i;
        }
        Arrays.sort(keyed);
        List<Integer> idx = new ArrayList<>();
        List<Float> out = new ArrayList<>();
        int i = 0;
        double[] same = new double[parts.size()];
        while (i < total) {
            int position = (int) (keyed[i] >>> 32);
            int n = 0;
            while (i < total && (int) (keyed[i] >>> 32) == position) {
                int q = (int) ((keyed[i] >>> 24) & 0xFF), e = (int) (keyed[i] & 0xFFFFFF);
                same[n++] = vals[q][e];
                i++;
            }
            Arrays.sort(same, 0, n);
            double s = 0;
            for (int j = 0; j < n; j++) s += same[j];
            idx.add(position);
            out.add((float) s);
        }
        int[] ia = new int[idx.size()];
        float[] va = new float[idx.size()];
        for (int j = 0; j < ia.length; j++) {
            ia[j] = idx.get(j);
            va[j] = out.get(j);
        }
        return new SparseDiff(rows, cols, ia, va);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SparseDiff d && rows == d.rows && cols == d.cols && Arrays.equals(indices, d.indices) && Arrays.equals(values, d.values);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * rows + cols) + 17 * Arrays.hashCode(indices) + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "SparseDiff[" + rows + ", " + cols + "] nnz " + nnz();
    }
}
