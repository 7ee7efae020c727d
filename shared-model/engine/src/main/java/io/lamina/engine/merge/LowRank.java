package io.lamina.engine.merge;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

import java.util.Arrays;

/**
 * Truncated SVD of a merged delta back to LoRA factors, as PEFT's
 * {@code _svd_generalized_task_arithmetic_weighted_adapter}: {@code U, S, Vh = svd(ΔW)},
 * {@code B = U[:, :r]·diag(S[:r])}, {@code A = Vh[:r]}, then optionally both clamped to
 * {@code [-q, q]} with {@code q} the {@code svd_clamp} quantile of their entries together. EJML, double precision.
 * By Eckart–Young, {@code ‖ΔW − B·A‖_F = sqrt(Σ_{k ≥ r} S_k²)} before clamping.
 */
final class LowRank {

    /**
     * @param a              [rank, in], row-major
     * @param b              [out, rank], row-major
     * @param singularValues all singular values of the input, descending
     */
    record Factors(double[] a, double[] b, int rank, double[] singularValues) {
    }

    private LowRank() {
    }

    static Factors truncate(double[] delta, int out, int in, int rank, boolean fullMatrices, Double clamp) {
        if (rank < 1 || rank > Math.min(out, in)) {
            throw new IllegalArgumentException("rank " + rank + " is outside [1, min(out, in) = " + Math.min(out, in) + "]");
        }
        DMatrixRMaj m = new DMatrixRMaj(out, in, true, delta);
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(out, in, true, true, !fullMatrices);
        if (!svd.decompose(m)) throw new IllegalStateException("SVD did not converge on a " + out + "x" + in + " delta");
        DMatrixRMaj u = svd.getU(null, false);
        DMatrixRMaj w = svd.getW(null);
        DMatrixRMaj v = svd.getV(null, false);
        SingularOps_DDRM.descendingOrder(u, false, w, v, false);

        int k = Math.min(out, in);
        double[] s = new double[k];
        for (int i = 0; i < k; i++) s[i] = w.get(i, i);
        double[] b = new double[out * rank];
        double[] a = new double[rank * in];
        for (int o = 0; o < out; o++) {
            for (int r = 0; r < rank; r++) b[o * rank + r] = u.get(o, r) * s[r];
        }
        for (int r = 0; r < rank; r++) {
            for (int j = 0; j < in; j++) a[r * in + j] = v.get(j, r);
        }
        if (clamp != null) {
            double[] all = new double[a.length + b.length];
            System.arraycopy(b, 0, all, 0, b.length);
            System.arraycopy(a, 0, all, b.length, a.length);
            double hi = quantile(all, clamp);
            double lo = -hi;
            for (int i = 0; i < b.length; i++) b[i] = Math.min(Math.max(b[i], lo), hi); // torch.clamp(min, max)
            for (int i = 0; i < a.length; i++) a[i] = Math.min(Math.max(a[i], lo), hi);
        }
        return new Factors(a, b, rank, s);
    }

    /** torch.quantile with the default linear interpolation. */
    static double quantile(double[] values, double q) {
        double[] v = values.clone();
        Arrays.sort(v);
        double pos = q * (v.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = (int) Math.ceil(pos);
        return v[lo] + (v[hi] - v[lo]) * (pos - lo);
    }
}
