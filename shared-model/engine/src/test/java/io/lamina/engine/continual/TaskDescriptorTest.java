package io.lamina.engine.continual;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TaskDescriptorTest {
    /** Points near a random 3-d subspace of R^24, plus a little noise. */
    private static float[][] task(long seed, int n, float[][] basis, float[] offset, double noise) {
        Random r = new Random(seed);
        float[][] out = new float[n][offset.length];
        for (int i = 0; i < n; i++) {
            for (float[] b : basis) {
                double c = r.nextGaussian();
                for (int j = 0; j < offset.length; j++) out[i][j] += (float) (c * b[j]);
            }
            for (int j = 0; j < offset.length; j++) out[i][j] += offset[j] + (float) (noise * r.nextGaussian());
        }
        return out;
    }

    private static float[][] basis(long seed, int k, int d) {
        Random r = new Random(seed);
        float[][] b = new float[k][d];
        for (float[] row : b) for (int j = 0; j < d; j++) row[j] = (float) r.nextGaussian();
        return b;
    }

    @Test
    void reconstructsItsOwnSubspaceExactlyAndNotAnother() {
        float[][] basis = basis(1, 3, 24);
        float[][] data = task(2, 200, basis, new float[24], 0);
        TaskDescriptor d = TaskDescriptor.fit(data, 3);
        assertThat(d.components()).hasNumberOfRows(3);
        for (float[] c : d.components()) {
            double norm = 0;
            for (float v : c) norm += v * v;
            assertThat(norm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        }
        // points of the subspace (not seen in fitting) reconstruct exactly: the linear autoencoder's optimum
        for (float[] x : task(3, 20, basis, new float[24], 0)) assertThat(d.loss(x)).isLessThan(1e-5); // float components
        for (float[] x : task(4, 20, basis(5, 3, 24), new float[24], 0)) assertThat(d.loss(x)).isGreaterThan(0.1);
    }

    @Test
    void inDistributionDoesNotExpandAndAShiftDoes() {
        float[][] basis = basis(1, 3, 24);
        float[] origin = new float[24];
        TaskDescriptor d = TaskDescriptor.fit(task(2, 300, basis, origin, 0.3), 3);
        List<float[]> same = Arrays.asList(task(7, 64, basis, origin, 0.3));
        float[] shifted = new float[24];
        Arrays.fill(shifted, 1.5f);
        List<float[]> moved = Arrays.asList(task(8, 64, basis, shifted, 0.3));
        assertThat(d.zScore(same)).isLessThan(TaskDescriptor.DEFAULT_EXPANSION_THRESHOLD);
        assertThat(d.zScore(moved)).isGreaterThan(TaskDescriptor.DEFAULT_EXPANSION_THRESHOLD);
    }

    @Test
    void zScoreIsTheMeanOfPerTextScores() {
        TaskDescriptor d = TaskDescriptor.fit(task(2, 50, basis(1, 2, 8), new float[8], 0.5), 2);
        List<float[]> batch = new ArrayList<>(Arrays.asList(task(9, 10, basis(3, 2, 8), new float[8], 0.5)));
        double expected = 0;
        for (float[] x : batch) expected += Math.max(0, d.loss(x) - d.lossMean()) / d.lossStd();
        assertThat(d.zScore(batch)).isCloseTo(expected / batch.size(), org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void aSmallTaskDoesNotMistakeItsOwnUnseenTextsForAShift() {
        // 18 texts and 16 components would reconstruct their own texts exactly; the held-out record keeps z sane
        float[][] basis = basis(1, 6, 24);
        TaskDescriptor d = TaskDescriptor.fit(task(2, 18, basis, new float[24], 0.3), 16);
        assertThat(d.zScore(Arrays.asList(task(3, 18, basis, new float[24], 0.3)))).isLessThan(TaskDescriptor.DEFAULT_EXPANSION_THRESHOLD);
    }

    @Test
    void refusesTooLittleData() {
        assertThatThrownBy(() -> TaskDescriptor.fit(new float[][]{{1f, 2f}, {2f, 1f}, {0f, 0f}}, 4)).hasMessageContaining("at least 4");
    }

    @Test
    void selfExpansionReusesTheBestMatchAndExpandsOnAShift() {
        float[][] b1 = basis(1, 3, 24), b2 = basis(2, 3, 24);
        float[] origin = new float[24];
        TaskDescriptor d1 = TaskDescriptor.fit(task(3, 300, b1, origin, 0.3), 3);
        TaskDescriptor d2 = TaskDescriptor.fit(task(4, 300, b2, origin, 0.3), 3);
        SelfExpansion.Decision likeTwo = SelfExpansion.decide(java.util.Arrays.asList(d1, null, d2), task(5, 64, b2, origin, 0.3), 2.0);
        assertThat(likeTwo.expand()).isFalse();
        assertThat(likeTwo.reuse()).isEqualTo(2);
        assertThat(likeTwo.zScores()[1]).isNaN();
        SelfExpansion.Decision novel = SelfExpansion.decide(List.of(d1, d2), task(6, 64, basis(9, 3, 24), origin, 0.3), 2.0);
        assertThat(novel.expand()).isTrue();
        assertThat(novel.reuse()).isEqualTo(-1);
        assertThat(SelfExpansion.decide(List.of(), task(6, 4, b1, origin, 0.3), 2.0).expand()).isTrue();
    }
}
