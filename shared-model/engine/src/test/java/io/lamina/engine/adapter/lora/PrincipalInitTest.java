package io.lamina.engine.adapter.lora;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.NormOps_DDRM;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** PiSSA's and CorDA's decompositions in double precision (METHODS.md §3's tests 2-5, and PiSSA's counterparts). */
class PrincipalInitTest {
    private static double[][] gaussian(int rows, int cols, long seed) {
        Random r = new Random(seed);
        double[][] m = new double[rows][cols];
        for (double[] row : m) for (int j = 0; j < cols; j++) row[j] = r.nextGaussian();
        return m;
    }

    /** {@code s · B A}, {@code [out, in]}. */
    private static double[][] delta(PrincipalInit.Factors f, double s) {
        int out = f.b().length, in = f.a()[0].length, r = f.a().length;
        double[][] d = new double[out][in];
        for (int i = 0; i < out; i++) {
            for (int j = 0; j < in; j++) {
                double sum = 0;
                for (int c = 0; c < r; c++) sum += f.b()[i][c] * f.a()[c][j];
                d[i][j] = s * sum;
            }
        }
        return d;
    }

    private static double relativeError(double[][] expected, double[][] actual) {
        double num = 0, den = 0;
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[0].length; j++) {
                num += (expected[i][j] - actual[i][j]) * (expected[i][j] - actual[i][j]);
                den += expected[i][j] * expected[i][j];
            }
        }
        return Math.sqrt(num / den);
    }

    /** Inputs that mostly live in a few directions: what a layer sees on a narrow task. */
    private static double[][] lowRankInputs(int samples, int in, int directions, long seed) {
        Random r = new Random(seed);
        double[][] basis = gaussian(directions, in, seed + 1);
        double[][] x = new double[samples][in];
        for (double[] row : x) {
            for (int d = 0; d < directions; d++) {
                double c = r.nextGaussian() * 3;
                for (int j = 0; j < in; j++) row[j] += c * basis[d][j];
            }
            for (int j = 0; j < in; j++) row[j] += 0.01 * r.nextGaussian();
        }
        return x;
    }

    private static double[][] covariance(double[][] x) {
        int in = x[0].length;
        double[][] c = new double[in][in];
        for (double[] row : x) for (int i = 0; i < in; i++) for (int j = 0; j < in; j++) c[i][j] += row[i] * row[j] / x.length;
        return c;
    }

    @Test
    void pissaTakesTheLargestComponentsAndAllOfThemRebuildW() {
        double[][] w = gaussian(20, 12, 1);
        double s = 16.0 / 4;
        PrincipalInit.Factors top = PrincipalInit.pissa(w, 4, s);
        assertThat(top.chosen()).containsExactly(0, 1, 2, 3);
        assertThat(top.a().length).isEqualTo(4);
        assertThat(top.a()[0].length).isEqualTo(12);
        assertThat(top.b().length).isEqualTo(20);
        for (int i = 1; i < top.sigma().length; i++) assertThat(top.sigma()[i]).isLessThanOrEqualTo(top.sigma()[i - 1]);
        // s·BA is the best rank-4 approximation: its error is the energy of the other singular values
        double[][] approx = delta(top, s);
        double rest = 0, all = 0;
        for (int i = 0; i < top.sigma().length; i++) {
            all += top.sigma()[i] * top.sigma()[i];
            if (i >= 4) rest += top.sigma()[i] * top.sigma()[i];
        }
        assertThat(relativeError(w, approx)).isCloseTo(Math.sqrt(rest / all), org.assertj.core.data.Offset.offset(1e-9));
        assertThat(PrincipalInit.energyShare(top)).isCloseTo(1 - rest / all, org.assertj.core.data.Offset.offset(1e-12));
        // every component: W itself, whatever the LoRA scaling
        assertThat(relativeError(w, delta(PrincipalInit.pissa(w, 12, 0.5), 0.5))).isLessThan(1e-12);
    }

    @Test
    void cordaRebuildsWExactlyAndItsDampingLoopEnds() {
        double[][] w = gaussian(16, 24, 2);
        double[][] c = covariance(lowRankInputs(40, 24, 5, 3));
        DMatrixRMaj cm = new DMatrixRMaj(c);
        DMatrixRMaj transposed = new DMatrixRMaj(24, 24);
        CommonOps_DDRM.transpose(cm, transposed);
        assertThat(NormOps_DDRM.normF(CommonOps_DDRM.subtract(cm, transposed, null))).as("symmetric").isLessThan(1e-12);
        var eig = org.ejml.dense.row.factory.DecompositionFactory_DDRM.eig(24, false, true);
        assertThat(eig.decompose(cm.copy())).isTrue();
        for (int i = 0; i < 24; i++) assertThat(eig.getEigenvalue(i).getReal()).as("positive semi-definite").isGreaterThan(-1e-9);
        PrincipalInit.ContextInverse ci = PrincipalInit.ContextInverse.of(cm);
        DMatrixRMaj product = new DMatrixRMaj(24, 24);
        CommonOps_DDRM.mult(ci.damped(), ci.inverse(), product);
        CommonOps_DDRM.subtractEquals(product, CommonOps_DDRM.identity(24));
        assertThat(NormOps_DDRM.normF(product)).isLessThan(PrincipalInit.INVERSE_TOLERANCE);
        assertThat(ci.lambda()).isGreaterThanOrEqualTo(0.01);
        // U Σ V'ᵀ with every component (k = min(out, in) = 16) is W: W C' C'⁻¹ = W
        for (boolean ipm : new boolean[]{true, false}) {
            assertThat(relativeError(w, delta(PrincipalInit.corda(w, c, 16, 2.0, ipm), 2.0))).as("ipm " + ipm).isLessThan(1e-9);
        }
        // a covariance with no usable entries is refused by name
        double[][] bad = covariance(lowRankInputs(5, 24, 2, 4));
        bad[3][3] = Double.NaN;
        assertThatThrownBy(() -> PrincipalInit.corda(w, bad, 4, 1.0, true)).hasMessageContaining("NaN");
    }

    @Test
    void ipmAndKpmTakeDisjointComponentsAndOrientThemByTheContext() {
        int out = 30, in = 30;
        double[][] w = gaussian(out, in, 5);
        double[][] x = lowRankInputs(200, in, 4, 6);
        double[][] c = covariance(x);
        PrincipalInit.Factors ipm = PrincipalInit.corda(w, c, 4, 1.0, true);
        PrincipalInit.Factors kpm = PrincipalInit.corda(w, c, 4, 1.0, false);
        Set<Integer> a = Arrays.stream(ipm.chosen()).boxed().collect(Collectors.toSet());
        Set<Integer> b = Arrays.stream(kpm.chosen()).boxed().collect(Collectors.toSet());
        assertThat(a).doesNotContainAnyElementsOf(b);
        assertThat(kpm.chosen()).containsExactly(26, 27, 28, 29);
        // on the calibration inputs, KPM's components carry little of W's output and IPM's most of it
        double ipmShare = outputShare(x, w, delta(ipm, 1.0)), kpmShare = outputShare(x, w, delta(kpm, 1.0));
        assertThat(ipmShare).isGreaterThan(0.9);
        assertThat(kpmShare).isLessThan(0.05);
        // PiSSA, which ignores the context, sits between them on these inputs
        double pissaShare = outputShare(x, w, delta(PrincipalInit.pissa(w, 4, 1.0), 1.0));
        assertThat(pissaShare).isLessThan(ipmShare).isGreaterThan(kpmShare);
    }

    /** {@code ‖X Δᵀ‖_F / ‖X Wᵀ‖_F}. */
    private static double outputShare(double[][] x, double[][] w, double[][] d) {
        double num = 0, den = 0;
        for (double[] row : x) {
            for (int o = 0; o < w.length; o++) {
                double yw = 0, yd = 0;
                for (int j = 0; j < row.length; j++) {
                    yw += w[o][j] * row[j];
                    yd += d[o][j] * row[j];
                }
                num += yd * yd;
                den += yw * yw;
            }
        }
        return Math.sqrt(num / den);
    }

    @Test
    void ranksOutsideTheWeightAndUnknownMethodsAreRefused() {
        double[][] w = gaussian(6, 4, 7);
        assertThatThrownBy(() -> PrincipalInit.pissa(w, 5, 1.0)).hasMessageContaining("rank 5 must be in [1, 4]");
        assertThat(PrincipalInit.Method.of("corda-kpm")).isEqualTo(PrincipalInit.Method.CORDA_KPM);
        assertThat(PrincipalInit.Method.CORDA_IPM.id()).isEqualTo("corda-ipm");
        assertThatThrownBy(() -> PrincipalInit.Method.of("olora")).hasMessageContaining("unknown LoRA initialiser 'olora'").hasMessageContaining("pissa");
    }
}
