package io.lamina.engine.metrics;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CompatibilityMetricsTest {
    @Test
    void countsOnlyExamplesThatWereRightAndBecameWrong() {
        boolean[] before = {true, true, false, false, true};
        boolean[] after = {true, false, true, false, false};
        assertThat(CompatibilityMetrics.negativeFlipRate(before, after)).isEqualTo(2.0 / 5);
        assertThat(CompatibilityMetrics.negativeFlipRate(after, after)).isZero();
        assertThat(CompatibilityMetrics.negativeFlipRate(new boolean[0], new boolean[0])).isZero();
        assertThatThrownBy(() -> CompatibilityMetrics.negativeFlipRate(before, new boolean[2]))
                .hasMessage("before has 5 examples, after 2");
    }
}
