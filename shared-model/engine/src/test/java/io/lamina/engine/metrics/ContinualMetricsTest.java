package io.lamina.engine.metrics;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ContinualMetricsTest {

    private static final double EPS = 1e-12;

    @Test
    void singleTask() {
        ContinualMetrics.Result r = ContinualMetrics.compute(new double[][]{{0.42}});
        assertThat(r.tasks()).isEqualTo(1);
        assertThat(r.averageAccuracy()).isEqualTo(0.42);
        assertThat(r.averageForgetting()).isZero();
        assertThat(r.backwardTransfer()).isZero();
        assertThat(r.averageAccuracyPerRow()).containsExactly(0.42);
        assertThat(r.forgettingPerTask()).isEmpty();
    }

    @Test
    void monotoneDecay() {
        // A = (.6+.75+.9)/3 = .75 ; F = ((.9-.6) + (.8-.75))/2 = .175 ; BWT = ((.6-.9) + (.75-.8))/2 = -.175
        ContinualMetrics.Result r = ContinualMetrics.compute(new double[][]{
                {0.9},
                {0.7, 0.8},
                {0.6, 0.75, 0.9}});
        assertThat(r.averageAccuracy()).isCloseTo(0.75, within(EPS));
        assertThat(r.averageForgetting()).isCloseTo(0.175, within(EPS));
        assertThat(r.backwardTransfer()).isCloseTo(-0.175, within(EPS));
        assertThat(r.averageAccuracyPerRow()).hasSize(3);
        assertThat(r.averageAccuracyPerRow().get(0)).isCloseTo(0.9, within(EPS));
        assertThat(r.averageAccuracyPerRow().get(1)).isCloseTo(0.75, within(EPS));
        assertThat(r.averageAccuracyPerRow().get(2)).isCloseTo(0.75, within(EPS));
        assertThat(r.averageIncrementalAccuracy()).isCloseTo(0.8, within(EPS));
        assertThat(r.forgettingPerTask().get(0)).isCloseTo(0.3, within(EPS));
        assertThat(r.forgettingPerTask().get(1)).isCloseTo(0.05, within(EPS));
    }

    @Test
    void forgettingUsesTheBestEarlierAccuracyNotTheDiagonal() {
        // task 0 peaked after task 1 (0.8), task 1 improved later (negative forgetting)
        // F = ((.8-.4) + (.6-.7))/2 = .15 ; BWT = ((.4-.5) + (.7-.6))/2 = 0 ; A = 2.1/3 = .7
        double nan = Double.NaN;
        ContinualMetrics.Result r = ContinualMetrics.compute(new double[][]{
                {0.5, nan, nan},
                {0.8, 0.6, nan},
                {0.4, 0.7, 1.0}});
        assertThat(r.averageAccuracy()).isCloseTo(0.7, within(EPS));
        assertThat(r.averageForgetting()).isCloseTo(0.15, within(EPS));
        assertThat(r.backwardTransfer()).isCloseTo(0.0, within(EPS));
        assertThat(r.forgettingPerTask().get(1)).isCloseTo(-0.1, within(EPS));
        assertThat(r.averageIncrementalAccuracy()).isCloseTo(1.9 / 3, within(EPS));
    }

    @Test
    void acceptsNestedLists() {
        ContinualMetrics.Result r = ContinualMetrics.compute(List.of(List.of(1.0), Arrays.asList(0.5, 1.0)));
        assertThat(r.averageAccuracy()).isCloseTo(0.75, within(EPS));
        assertThat(r.averageForgetting()).isCloseTo(0.5, within(EPS));
        assertThat(r.backwardTransfer()).isCloseTo(-0.5, within(EPS));
    }

    @Test
    void validatesShapeAndValues() {
        assertThatThrownBy(() -> ContinualMetrics.compute(new double[0][]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one row");
        assertThatThrownBy(() -> ContinualMetrics.compute(new double[][]{{0.5}, {0.5}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("row 1 has 1 entries, needs at least 2");
        assertThatThrownBy(() -> ContinualMetrics.compute(new double[][]{{0.5, 0.1, 0.2}, {0.5, 0.5}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("row 0 has 3 entries but there are only 2 tasks");
        assertThatThrownBy(() -> ContinualMetrics.compute(new double[][]{{0.5}, {1.2, 0.5}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("R[1][0] = 1.2 is not in [0, 1]");
        assertThatThrownBy(() -> ContinualMetrics.compute(new double[][]{{Double.NaN}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("R[0][0] = NaN");
        assertThatThrownBy(() -> ContinualMetrics.compute(new double[][]{{0.5}, null}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("row 1 is null");
        assertThatThrownBy(() -> ContinualMetrics.compute(List.of(List.of(-0.1))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not in [0, 1]");
    }
}
