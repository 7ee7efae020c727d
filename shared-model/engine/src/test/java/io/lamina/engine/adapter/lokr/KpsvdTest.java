package io.lamina.engine.adapter.lokr;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** KPSVD, its rank rules and PEFT's factorization (METHODS.md §4 tests 1, 2 and 5); pure Java, no base model. */
class KpsvdTest {
    private static double[][] random(Random r, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (double[] row : m) for (int j = 0; j < cols; j++) row[j] = r.nextGaussian();
        return m;
    }

    private static double frobenius(double[][] m) {
        double s = 0;
        for (double[] row : m) for (double x : row) s += x * x;
        return Math.sqrt(s);
    }

    /** {@code Σ_{k<3} A_k ⊗ B_k} with random A_k [4, 3], B_k [5, 6]: W is [20, 18]. */
    private static double[][] rankThree(long seed) {
        Random r = new Random(seed);
        double[][] w = new double[20][18];
        for (int k = 0; k < 3; k++) {
            double[][] t = LokrLayer.kron(random(r, 4, 3), random(r, 5, 6));
            for (int i = 0; i < 20; i++) for (int j = 0; j < 18; j++) w[i][j] += t[i][j];
        }
        return w;
    }

    @Test
    void recoversASumOfThreeKroneckerProductsExactly() {
        double[][] w = rankThree(7);
        Kpsvd kp = Kpsvd.of(w, 4, 3, 5, 6);
        double[] s = kp.singularValues();
        assertThat(s).hasSize(12);  // min(m·n, p·q) = min(12, 30)
        assertThat(s[2]).isGreaterThan(1e-3 * s[0]);
        for (int k = 3; k < s.length; k++) assertThat(s[k]).as("sigma %d", k).isLessThan(1e-10 * s[0]);
        double[][] back = kp.reconstruct(3);
        double err = 0;
        for (int i = 0; i < 20; i++) for (int j = 0; j < 18; j++) err = Math.max(err, Math.abs(back[i][j] - w[i][j]));
        assertThat(err).isLessThan(1e-8);
        // the factors have the documented shapes: A_k [m, n], B_k [p, q]
        assertThat(kp.a(0)).hasDimensions(4, 3);
        assertThat(kp.b(0)).hasDimensions(5, 6);
    }

    @Test
    void energyRuleWithTau0_9999Gives3AndTheCombinedRuleClamps() {
        double[] s = Kpsvd.of(rankThree(11), 4, 3, 5, 6).singularValues();
        assertThat(Kpsvd.energyRank(s, 0.9999)).isEqualTo(3);
        // the elbow (max second difference) is at the first negligible value, so min(r_E, r_L) = r_E here
        assertThat(Kpsvd.elbowRank(s)).isEqualTo(4);
        assertThat(Kpsvd.selectRank(s, 0.9999, 1, 8)).isEqualTo(3);
        assertThat(Kpsvd.selectRank(s, 0.9999, 1, 2)).isEqualTo(2);
        assertThat(Kpsvd.selectRank(s, 0.9999, 5, 8)).isEqualTo(5);
        assertThat(Kpsvd.elbowRank(new double[]{10, 9, 8, 7, 1, 0.9, 0.8})).isEqualTo(5);  // the first value after the drop
        assertThatThrownBy(() -> Kpsvd.energyRank(s, 0)).hasMessageContaining("energy threshold must be in (0, 1]");
    }

    @Test
    void rearrangementIsAnIsometryThatMovesBlocksToRows() {
        Random r = new Random(3);
        double[][] w = random(r, 6, 8);            // m=2, p=3, n=4, q=2
        double[][] rw = Kpsvd.rearrange(w, 2, 4, 3, 2);
        assertThat(rw).hasDimensions(8, 6);
        assertThat(frobenius(rw)).isCloseTo(frobenius(w), org.assertj.core.data.Offset.offset(1e-12));
        // row i·n + j is block (i, j) vectorised row-major: R[1·4 + 2][k·2 + l] = W[1·3 + k][2·2 + l]
        assertThat(rw[6][3]).isEqualTo(w[4][5]);
        assertThatThrownBy(() -> Kpsvd.rearrange(w, 2, 4, 2, 2)).hasMessageContaining("expected [4, 8]");
    }

    @Test
    void factorizationIsPefts() {
        assertThat(LokrSpec.factorization(256, -1)).containsExactly(16, 16);
        assertThat(LokrSpec.factorization(128, -1)).containsExactly(8, 16);
        assertThat(LokrSpec.factorization(127, -1)).containsExactly(1, 127);
        assertThat(LokrSpec.factorization(128, 4)).containsExactly(4, 32);
        assertThat(LokrSpec.factorization(384, -1)).containsExactly(16, 24);
        assertThat(LokrSpec.factorization(1536, -1)).containsExactly(32, 48);
        // a factor that does not divide: the search stops before divisors above it
        assertThat(LokrSpec.factorization(384, 5)).containsExactly(4, 96);
    }
}
