package io.lamina.engine.adapter.lokr;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

import java.util.Arrays;
import java.util.Comparator;

/**
 * Kronecker-product SVD (Van Loan and Pitsianis) of {@code W [m·p, n·q]}: the SVD of the rearrangement
 * <pre>
 *   R(W) [m·n, p·q],   R(W)[i·n + j, k·q + l] = W[i·p + k, j·q + l]
 * </pre>
 * (row {@code i·n + j} is block {@code (i, j)} of W, vectorised row-major). Because R is a permutation of
 * entries, {@code ‖W − Σ_k A_k ⊗ B_k‖_F = ‖R(W) − Σ_k vec(A_k) vec(B_k)ᵀ‖_F}, so the truncated SVD
 * {@code R(W) = Σ σ_k u_k v_kᵀ} gives the best sum of {@code r} Kronecker products:
 * {@code A_k = reshape(√σ_k u_k, m×n)}, {@code B_k = reshape(√σ_k v_k, p×q)}. Double precision (EJML) throughout:
 * SoKA (METHODS.md §4) initialises its factors from it and picks its rank from the singular values.
 */
public final class Kpsvd {
    private final int m, n, p, q;
    private final double[] sigma;   // descending
    private final double[][] u;     // u[k]: [m·n]
    private final double[][] v;     // v[k]: [p·q]

    private Kpsvd(int m, int n, int p, int q, double[] sigma, double[][] u, double[][] v) {
        this.m = m;
        this.n = n;
        this.p = p;
        this.q = q;
        this.sigma = sigma;
        this.u = u;
        this.v = v;
    }

    /** {@code R(W)} for {@code W [m·p, n·q]}. */
    public static double[][] rearrange(double[][] w, int m, int n, int p, int q) {
        if (w.length != m * p || w[0].length != n * q) {
            throw new IllegalArgumentException("W is [" + w.length + ", " + w[0].length + "], expected [" + m * p + ", " + n * q + "] for m=" + m + " n=" + n + " p=" + p + " q=" + q);
        }
        double[][] r = new double[m * n][p * q];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                for (int k = 0; k < p; k++) {
                    for (int l = 0; l < q; l++) r[i * n + j][k * q + l] = w[i * p + k][j * q + l];
                }
            }
        }
        return r;
    }

    /** The full KPSVD of {@code w [m·p, n·q]}, singular values in descending order. */
    public static Kpsvd of(double[][] w, int m, int n, int p, int q) {
        double[][] r = rearrange(w, m, n, p, q);
        int rows = m * n, cols = p * q;
        DMatrixRMaj mat = new DMatrixRMaj(r);
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(rows, cols, true, true, true);
        if (!svd.decompose(mat)) throw new IllegalStateException("SVD of the " + rows + "x" + cols + " rearrangement did not converge");
        double[] s = svd.getSingularValues();
        int count = svd.numberOfSingularValues();
        DMatrixRMaj uMat = svd.getU(null, false);   // [rows, count]
        DMatrixRMaj vMat = svd.getV(null, false);   // [cols, count]
        Integer[] order = new Integer[count];
        for (int i = 0; i < count; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -s[i]));
        double[] sigma = new double[count];
        double[][] us = new double[count][rows], vs = new double[count][cols];
        for (int k = 0; k < count; k++) {
            int c = order[k];
            sigma[k] = s[c];
            for (int i = 0; i < rows; i++) us[k][i] = uMat.get(i, c);
            for (int i = 0; i < cols; i++) vs[k][i] = vMat.get(i, c);
        }
        return new Kpsvd(m, n, p, q, sigma, us, vs);
    }

    /** Singular values of {@code R(W)}, descending. */
    public double[] singularValues() { return sigma.clone(); }

    /** {@code A_k = reshape(√σ_k u_k, m×n)} (k from 0). */
    public double[][] a(int k) { return reshape(u[k], Math.sqrt(sigma[k]), m, n); }

    /** {@code B_k = reshape(√σ_k v_k, p×q)} (k from 0). */
    public double[][] b(int k) { return reshape(v[k], Math.sqrt(sigma[k]), p, q); }

    /** {@code Σ_{k<r} A_k ⊗ B_k}, the best approximation of W by {@code r} Kronecker products. */
    public double[][] reconstruct(int r) {
        double[][] out = new double[m * p][n * q];
        for (int k = 0; k < r; k++) {
            double[][] t = LokrLayer.kron(a(k), b(k));
            for (int i = 0; i < out.length; i++) for (int j = 0; j < out[i].length; j++) out[i][j] += t[i][j];
        }
        return out;
    }

    private static double[][] reshape(double[] flat, double scale, int rows, int cols) {
        double[][] out = new double[rows][cols];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) out[i][j] = scale * flat[i * cols + j];
        return out;
    }

    /** Energy rank: the least {@code r} with {@code Σ_{k≤r} σ_k² / Σ_k σ_k² ≥ tau} (all of them when the total is 0). */
    public static int energyRank(double[] sigma, double tau) {
        if (!(tau > 0 && tau <= 1)) throw new IllegalArgumentException("energy threshold must be in (0, 1], got " + tau);
        double total = 0;
        for (double s : sigma) total += s * s;
        if (total == 0) return sigma.length;
        double acc = 0;
        for (int r = 1; r <= sigma.length; r++) {
            acc += sigma[r - 1] * sigma[r - 1];
            if (acc / total >= tau) return r;
        }
        return sigma.length;
    }

    /**
     * Elbow rank: {@code argmax_k (σ_{k−1} − 2σ_k + σ_{k+1})} over {@code k = 2..K−1} (1-based, METHODS.md §4 as
     * written), the point where the spectrum bends most; with fewer than three values, their count. For a spectrum
     * that drops to zero after {@code r} values this is {@code r + 1} (the first small value), so the combined
     * rule's {@code min} with the energy rank decides there.
     */
    public static int elbowRank(double[] sigma) {
        if (sigma.length < 3) return sigma.length;
        int best = 2;
        double bestValue = Double.NEGATIVE_INFINITY;
        for (int k = 2; k <= sigma.length - 1; k++) {
            double d2 = sigma[k - 2] - 2 * sigma[k - 1] + sigma[k];
            if (d2 > bestValue) {
                bestValue = d2;
                best = k;
            }
        }
        return best;
    }

    /** SoKA's rank: {@code clamp(min(r_E, r_L), minRank, maxRank)}, never more than there are singular values. */
    public static int selectRank(double[] sigma, double tau, int minRank, int maxRank) {
        if (minRank < 1 || maxRank < minRank) throw new IllegalArgumentException("need 1 <= minRank <= maxRank, got " + minRank + ", " + maxRank);
        int r = Math.min(energyRank(sigma, tau), elbowRank(sigma));
        return Math.min(sigma.length, Math.max(minRank, Math.min(maxRank, r)));
    }
}
