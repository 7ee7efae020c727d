package io.lamina.engine.adapter.lora;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.NormOps_DDRM;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

import java.util.Locale;

/**
 * LoRA factors initialised from the principal components of the pretrained weight instead of at random, PEFT's
 * {@code init_lora_weights="pissa"} and {@code "corda"}. The factors take {@code s·B₀A₀} out of {@code W}: training
 * runs on the frozen residual {@code W − s·B₀A₀} plus {@code s·BA} from {@code (B, A) = (B₀, A₀)}, so the model
 * starts exactly at the base. Decompositions run in double precision with EJML (DJL has no SVD).
 *
 * <ul>
 *   <li>{@link Method#PISSA}: {@code W = U Σ Vᵀ}; the largest {@code r} components train.</li>
 *   <li>{@link Method#CORDA_IPM} / {@link Method#CORDA_KPM}: the SVD of {@code W C} with {@code C} the covariance of
 *       the layer's inputs over calibration data; {@code W = U Σ V'ᵀ} with {@code V' = (Vᵀ C⁻¹)ᵀ}. The
 *       instruction-previewed mode trains the largest {@code r} components (the task's context, calibration from the
 *       task's own data); the knowledge-preserved mode trains the smallest {@code r} and leaves the components the
 *       calibration data uses frozen.</li>
 * </ul>
 * In both, {@code S' = Σ_sel / s}, {@code A = diag(√S') V_selᵀ}, {@code B = U_sel diag(√S')} (PEFT's {@code pissa_init}
 * and {@code corda_init}).
 */
public final class PrincipalInit {
    /** CorDA's damping loop stops when {@code ‖C' C'⁻¹ − I‖_F} is below this. */
    static final double INVERSE_TOLERANCE = 0.05;

    private PrincipalInit() {
    }

    /** Which components train; the stream policy names them {@code pissa}, {@code corda-ipm}, {@code corda-kpm}. */
    public enum Method {
        PISSA, CORDA_IPM, CORDA_KPM;

        /** The policy's name, e.g. {@code corda-kpm}. */
        public String id() { return name().toLowerCase(Locale.ROOT).replace('_', '-'); }

        public boolean needsCalibration() { return this != PISSA; }

        public static Method of(String id) {
            for (Method m : values()) if (m.id().equalsIgnoreCase(id)) return m;
            throw new IllegalArgumentException("unknown LoRA initialiser '" + id + "', known: default, "
                    + String.join(", ", java.util.Arrays.stream(values()).map(Method::id).toList()));
        }
    }

    /**
     * Factors of one linear.
     *
     * @param a       {@code [r, in]} (lora_A)
     * @param b       {@code [out, r]} (lora_B)
     * @param sigma   every singular value of the decomposed matrix, descending
     * @param chosen  indices into {@code sigma} of the components the factors hold
     */
    public record Factors(double[][] a, double[][] b, double[] sigma, int[] chosen) {
    }

    /** A thin SVD {@code M = U diag(σ) Vᵀ}, σ descending; {@code v} is {@code [in, k]}. */
    public record Svd(DMatrixRMaj u, double[] sigma, DMatrixRMaj v) {
        public static Svd of(DMatrixRMaj m) {
            SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(m.numRows, m.numCols, true, true, true);
            if (!svd.decompose(m.copy())) throw new IllegalStateException("SVD did not converge");
            DMatrixRMaj u = svd.getU(null, false);
            DMatrixRMaj w = svd.getW(null);
            DMatrixRMaj v = svd.getV(null, false);
            SingularOps_DDRM.descendingOrder(u, false, w, v, false);
            int k = Math.min(w.numRows, w.numCols);
            double[] sigma = new double[k];
            for (int i = 0; i < k; i++) sigma[i] = w.get(i, i);
            return new Svd(u, sigma, v);
        }
    }

    /** PiSSA: the largest {@code rank} singular components of {@code w [out, in]}, scaled for LoRA scaling {@code s}. */
    public static Factors pissa(double[][] w, int rank, double scaling) {
        DMatrixRMaj m = new DMatrixRMaj(w);
        Svd svd = Svd.of(m);
        return factors(svd.u(), svd.sigma(), svd.v(), largest(svd.sigma().length, rank), scaling);
    }

    /**
     * CorDA: the context-oriented decomposition of {@code w [out, in]} under the input covariance {@code c [in, in]}.
     *
     * @param ipm true for the instruction-previewed mode (largest components), false for knowledge-preserved (smallest)
     */
    public static Factors corda(double[][] w, double[][] c, int rank, double scaling, boolean ipm) {
        ContextInverse ci = ContextInverse.of(new DMatrixRMaj(c));
        DMatrixRMaj wc = new DMatrixRMaj(w.length, w[0].length);
        CommonOps_DDRM.mult(new DMatrixRMaj(w), ci.damped(), wc);
        Svd svd = Svd.of(wc);
        // V' = (Vᵀ C'⁻¹)ᵀ = C'⁻ᵀ V, so that W = U Σ V'ᵀ exactly
        DMatrixRMaj vPrime = new DMatrixRMaj(svd.v().numRows, svd.v().numCols);
        CommonOps_DDRM.multTransA(ci.inverse(), svd.v(), vPrime);
        int k = svd.sigma().length;
        return factors(svd.u(), svd.sigma(), vPrime, ipm ? largest(k, rank) : smallest(k, rank), scaling);
    }

    /**
     * CorDA's damped covariance {@code C' = C + λ·mean(diag C)·I} and its inverse, {@code λ} doubling from 0.01
     * until {@code ‖C' C'⁻¹ − I‖_F < 0.05}.
     */
    public record ContextInverse(DMatrixRMaj damped, DMatrixRMaj inverse, double lambda) {
        public static ContextInverse of(DMatrixRMaj c) {
            int n = c.numRows;
            if (n != c.numCols) throw new IllegalArgumentException("a covariance is square, got " + n + "×" + c.numCols);
            for (double v : c.data) if (!Double.isFinite(v)) throw new IllegalArgumentException("the input covariance has NaN or infinite entries");
            double meanDiag = 0;
            for (int i = 0; i < n; i++) meanDiag += c.get(i, i);
            meanDiag = Math.max(meanDiag / n, 1e-12);
            DMatrixRMaj eye = CommonOps_DDRM.identity(n);
            for (double lambda = 0.01; lambda < 1e6; lambda *= 2) {
                DMatrixRMaj damped = c.copy();
                for (int i = 0; i < n; i++) damped.add(i, i, lambda * meanDiag);
                DMatrixRMaj inverse = new DMatrixRMaj(n, n);
                // C' is symmetric positive definite once damped: Cholesky first, LU if rounding says otherwise
                if (CommonOps_DDRM.invertSPD(damped.copy(), inverse) || CommonOps_DDRM.invert(damped.copy(), inverse)) {
                    DMatrixRMaj product = new DMatrixRMaj(n, n);
                    CommonOps_DDRM.mult(damped, inverse, product);
                    CommonOps_DDRM.subtractEquals(product, eye);
                    if (NormOps_DDRM.normF(product) < INVERSE_TOLERANCE) return new ContextInverse(damped, inverse, lambda);
                }
            }
            throw new IllegalArgumentException("the input covariance could not be inverted even with heavy damping");
        }
    }

    private static int[] largest(int k, int rank) {
        check(k, rank);
        int[] idx = new int[rank];
        for (int i = 0; i < rank; i++) idx[i] = i;
        return idx;
    }

    private static int[] smallest(int k, int rank) {
        check(k, rank);
        int[] idx = new int[rank];
        for (int i = 0; i < rank; i++) idx[i] = k - rank + i;
        return idx;
    }

    private static void check(int k, int rank) {
        if (rank < 1 || rank > k) throw new IllegalArgumentException("rank " + rank + " must be in [1, " + k + "] for this weight");
    }

    private static Factors factors(DMatrixRMaj u, double[] sigma, DMatrixRMaj v, int[] chosen, double scaling) {
        int r = chosen.length, out = u.numRows, in = v.numRows;
        double[][] a = new double[r][in];
        double[][] b = new double[out][r];
        for (int c = 0; c < r; c++) {
            double root = Math.sqrt(sigma[chosen[c]] / scaling);
            for (int j = 0; j < in; j++) a[c][j] = root * v.get(j, chosen[c]);
            for (int i = 0; i < out; i++) b[i][c] = u.get(i, chosen[c]) * root;
        }
        return new Factors(a, b, sigma, chosen);
    }

    /** The share of {@code Σσ²} the chosen components hold (for provenance). */
    public static double energyShare(Factors f) {
        double all = 0, chosen = 0;
        for (double s : f.sigma()) all += s * s;
        for (int i : f.chosen()) chosen += f.sigma()[i] * f.sigma()[i];
        return all == 0 ? 0 : chosen / all;
    }

    /** Row-major floats of a {@code double[rows][cols]}. */
    public static float[] flat(double[][] m) {
        float[] out = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < m[0].length; j++) out[i * m[0].length + j] = (float) m[i][j];
        }
        return out;
    }
}
