package io.lamina.engine.adapter.lokr;

import ai.djl.ndarray.NDArray;

/**
 * The math of a Kronecker update on one linear, without materialising the Kronecker product. For
 * {@code A [a, c]}, {@code B [b, d]} and an input row {@code x} of length {@code c·d} read row-major as
 * {@code X [c, d]} ({@code X[j, l] = x[j·d + l]}):
 * <pre>
 *   (A ⊗ B) x = vec_rowmajor(A · X · Bᵀ)      [a·b]
 * </pre>
 * which costs {@code O(c·d·b + a·c·b)} per row instead of {@code O(a·b·c·d)}. A sum of {@code K} products
 * (SoKA) stacks the factors as {@code [K, a, c]} and {@code [K, b, d]} and sums the {@code K} results; PEFT's
 * LoKr is {@code K = 1}. Only DJL ops are used, so autograd reaches the factors.
 */
public final class LokrLayer {
    private LokrLayer() {
    }

    /**
     * {@code Σ_k (A_k ⊗ B_k) x} for every row of {@code in}.
     *
     * @param in {@code [N, c·d]}
     * @param a  {@code [K, a, c]}
     * @param b  {@code [K, b, d]}
     * @return {@code [N, a·b]}
     */
    public static NDArray delta(NDArray in, NDArray a, NDArray b) {
        long n = in.getShape().get(0);
        long k = a.getShape().get(0), rows = a.getShape().get(1), c = a.getShape().get(2);
        long bRows = b.getShape().get(1), d = b.getShape().get(2);
        if (b.getShape().get(0) != k) throw new IllegalArgumentException("A and B stack different numbers of Kronecker terms: " + a.getShape() + " vs " + b.getShape());
        if (in.getShape().get(1) != c * d) throw new IllegalArgumentException("input width " + in.getShape().get(1) + " is not " + c + "·" + d);
        NDArray x = in.reshape(n, 1, c, d);
        NDArray xb = x.matMul(b.transpose(0, 2, 1));      // [N, K, c, b]: X B_kᵀ
        NDArray axb = a.matMul(xb);                         // [N, K, a, b]: A_k X B_kᵀ
        NDArray sum = k == 1 ? axb : axb.sum(new int[]{1}, true);
        return sum.reshape(n, rows * bRows);
    }

    /** The dense {@code A ⊗ B} ({@code (A⊗B)[i·p + k, j·q + l] = A[i, j]·B[k, l]}), for checks and merging. */
    public static double[][] kron(double[][] a, double[][] b) {
        int m = a.length, n = a[0].length, p = b.length, q = b[0].length;
        double[][] out = new double[m * p][n * q];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                for (int k = 0; k < p; k++) {
                    for (int l = 0; l < q; l++) out[i * p + k][j * q + l] = a[i][j] * b[k][l];
                }
            }
        }
        return out;
    }
}
