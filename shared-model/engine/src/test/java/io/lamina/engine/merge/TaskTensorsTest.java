package io.lamina.engine.merge;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The element-wise kernels, on hand-computed examples; where PEFT and mergekit differ, both are checked. */
class TaskTensorsTest {

    private static final MergeInputs.Site SITE = new MergeInputs.Site(0, "query", 8, 8);

    private static TaskTensors.Combine ties(boolean mergekit, boolean normalize, boolean byFrequency) {
        return new TaskTensors.Combine(MergeMethods.Sparsifier.MAGNITUDE, true, mergekit, 1.0, byFrequency, 0, 0, normalize, false, 1.0);
    }

    private static TaskTensors.Combine dare(boolean mergekit, double density) {
        return new TaskTensors.Combine(MergeMethods.Sparsifier.RANDOM, false, mergekit, density, false, 0, 0, false, true, 1.0);
    }

    @Test
    void tiesElectsTheSignOnUnweightedTensorsUnderPeftAndOnWeightedOnesUnderMergekit() {
        // τ1 = [3, -1], τ2 = [-2, 2], w = [1, 4], density 1.
        double[][] t = {{3, -1}, {-2, 2}};
        double[] w = {1, 4};
        // PEFT: sign(τ1 + τ2) = [+, +]; entry 0 keeps τ1 only (3·1 / 1), entry 1 keeps τ2 only (2·4 / 1).
        assertThat(TaskTensors.mix(t, w, ties(false, false, false))).containsExactly(3, 8);
        // mergekit: sign(1·τ1 + 4·τ2) = sign([-5, 7]) = [-, +]; both entries keep τ2 only: [-8, 8] / (Σ agreeing w = 4).
        assertThat(TaskTensors.mix(t, w, ties(true, true, false))).containsExactly(-2, 2);
        // mergekit without normalize: the agreeing weighted entries, summed.
        assertThat(TaskTensors.mix(t, w, ties(true, false, false))).containsExactly(-8, 8);
    }

    @Test
    void disjointMergeDividesByTheCountUnderPeftAndByTheAgreeingWeightsUnderMergekit() {
        double[][] t = {{2}, {4}};
        double[] w = {1, 3};
        assertThat(TaskTensors.mix(t, w, ties(false, false, false))).containsExactly((1 * 2 + 3 * 4) / 2.0); // 7
        assertThat(TaskTensors.mix(t, w, ties(true, true, false))).containsExactly((1 * 2 + 3 * 4) / 4.0);  // 3.5
    }

    @Test
    void frequencyElectsByCountingSigns() {
        double[][] t = {{5}, {-1}, {-1}};
        double[] w = {1, 1, 1};
        assertThat(TaskTensors.mix(t, w, ties(false, false, false))).containsExactly(5);   // total: 5-1-1 > 0
        assertThat(TaskTensors.mix(t, w, ties(false, false, true))).containsExactly(-1);   // frequency: two negatives
        // zeros never agree, and a zero sum elects +
        assertThat(TaskTensors.mix(new double[][]{{0}, {0}}, new double[]{1, 1}, ties(false, false, false))).containsExactly(0);
        assertThat(TaskTensors.mix(new double[][]{{1}, {-1}}, new double[]{2, 2}, ties(false, false, false))).containsExactly(2);
    }

    @Test
    void dareRescalesByOneOverDensityUnderPeftAndRestoresTheL1NormUnderMergekit() {
        double[] t = {1, 2, 3, 4};
        boolean[] keep = {true, false, true, false};
        double[] peft = TaskTensors.masked(t, keep);
        for (int j = 0; j < peft.length; j++) peft[j] /= 0.5;
        assertThat(peft).containsExactly(2, 0, 6, 0);
        // mergekit: ‖t‖₁ = 10, ‖m ⊙ t‖₁ = 4, so × 2.5
        assertThat(TaskTensors.l1Rescaled(t, keep)).containsExactly(2.5, 0, 7.5, 0);
        // a mask that drops everything stays zero (no division by zero)
        assertThat(TaskTensors.l1Rescaled(t, new boolean[4])).containsExactly(0, 0, 0, 0);
    }

    @Test
    void dareIsUnbiasedUnderPeft() {
        Random data = new Random(3);
        double[] t = new double[64];
        for (int j = 0; j < t.length; j++) t[j] = data.nextGaussian();
        double density = 0.3;
        int n = 20_000;
        double[] mean = new double[t.length];
        int zeros = 0;
        for (int s = 0; s < n; s++) {
            // the merger's streams: consecutive seeds are mixed first (raw new Random(s) has correlated first draws)
            double[] p = TaskTensors.sparsify(t, 8, 8, dare(false, density), AdapterMerger.stream(s, SITE, 'D', 0));
            for (int j = 0; j < t.length; j++) {
                mean[j] += p[j] / n;
                if (p[j] == 0) zeros++;
            }
        }
        for (int j = 0; j < t.length; j++) {
            double sigma = Math.abs(t[j]) * Math.sqrt((1 - density) / density / n);
            assertThat(mean[j]).as("entry " + j).isCloseTo(t[j], within(5 * sigma + 1e-12));
        }
        assertThat(zeros / (double) (n * t.length)).isCloseTo(1 - density, within(0.01)); // drop rate ≈ 1 - density
    }

    @Test
    void densityOneIsTheIdentityForEverySparsifier() {
        double[] t = {1, -2, 3, -4};
        for (MergeMethods.Sparsifier sp : MergeMethods.Sparsifier.values()) {
            for (boolean mergekit : new boolean[]{false, true}) {
                TaskTensors.Combine c = new TaskTensors.Combine(sp, false, mergekit, 1.0, false, 0.01, 0.1, false, true, 1.0);
                assertThat(TaskTensors.sparsify(t, 2, 2, c, new Random(1))).as(sp + " mergekit=" + mergekit).containsExactly(t);
            }
        }
    }

    @Test
    void magnitudeKeepsTheTopFractionAndBreaksTiesByPosition() {
        // k = int(0.5 · 4) = 2; |1| = |-1| = |1|: the first two win
        assertThat(TaskTensors.magnitudeMask(new double[]{1, -1, 1, 0.5}, 0.5)).containsExactly(true, true, false, false);
        // k = int(0.3 · 5) = 1
        assertThat(TaskTensors.magnitudeMask(new double[]{0.1, -7, 3, 2, 0}, 0.3)).containsExactly(false, true, false, false, false);
        // k = 0 keeps nothing (PEFT's topk with k = 0)
        assertThat(TaskTensors.magnitudeMask(new double[]{1, 2}, 0.4)).containsExactly(false, false);
    }

    @Test
    void breadcrumbsDropsTheLargestAndTheSmallest() {
        double[] t = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10};
        // n = 10, keep int(0.5·10) = 5, drop int(0.2·10) = 2 largest → drop 3 smallest: keep |x| in 4..8
        assertThat(TaskTensors.outlierMask(t, 0.5, 0.2)).containsExactly(false, false, false, true, true, true, true, true, false, false);
        // density + gamma > 1: fewer large ones are dropped so that int(0.9·10) = 9 remain
        assertThat(TaskTensors.outlierMask(t, 0.9, 0.2)).containsExactly(true, true, true, true, true, true, true, true, true, false);
        // gamma·n < 1: nothing large is dropped (mergekit's slice [n_bot:-0] would keep nothing)
        assertThat(TaskTensors.outlierMask(t, 0.5, 0.01)).containsExactly(false, false, false, false, false, true, true, true, true, true);
    }

    @Test
    void dellaKeepProbabilityGrowsWithMagnitudeRankPerRow() {
        double[] t = {0.1, -3, 2, /* row 2 */ 5, 4, 6};
        double[] p = TaskTensors.dellaProbabilities(t, 2, 3, 0.5, 0.1);
        assertThat(p[0]).isCloseTo(0.4, within(1e-12));
        assertThat(p[1]).isCloseTo(0.6, within(1e-12));
        assertThat(p[2]).isCloseTo(0.5, within(1e-12));
        assertThat(p[3]).isCloseTo(0.5, within(1e-12));
        assertThat(p[4]).isCloseTo(0.4, within(1e-12));
        assertThat(p[5]).isCloseTo(0.6, within(1e-12));
    }

    @Test
    void mergekitNormalizeAndLambdaWithoutConsensus() {
        double[][] t = {{1, 2}, {3, 4}};
        double[] w = {1, 3};
        TaskTensors.Combine sum = new TaskTensors.Combine(MergeMethods.Sparsifier.NONE, false, true, 1, false, 0, 0, false, false, 1.0);
        assertThat(TaskTensors.mix(t, w, sum)).containsExactly(10, 14);
        TaskTensors.Combine norm = new TaskTensors.Combine(MergeMethods.Sparsifier.NONE, false, true, 1, false, 0, 0, true, false, 2.0);
        assertThat(TaskTensors.mix(t, w, norm)).containsExactly(5, 7); // / (1 + 3) × 2
    }

    @Test
    void quantileInterpolatesLinearlyAsTorch() {
        assertThat(LowRank.quantile(new double[]{4, 1, 3, 2}, 0.5)).isEqualTo(2.5);
        assertThat(LowRank.quantile(new double[]{4, 1, 3, 2}, 1.0)).isEqualTo(4);
        assertThat(LowRank.quantile(new double[]{4, 1, 3, 2}, 0.0)).isEqualTo(1);
        assertThat(LowRank.quantile(new double[]{0, 10}, 0.25)).isEqualTo(2.5);
    }
}
