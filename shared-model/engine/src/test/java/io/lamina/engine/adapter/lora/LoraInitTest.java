package io.lamina.engine.adapter.lora;

import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class LoraInitTest {
    @Test
    void kaimingUniformAAndZeroB() {
        LoraSpec spec = new LoraSpec(4, 8f, 0f, List.of("value", "query"));
        Map<String, HostTensor> w = LoraInit.initialWeights(spec, 2, 64, 7);
        assertThat(w).hasSize(2 * 2 * 2);
        HostTensor a = w.get(LoraSpec.peftKey(1, "query", 'A'));
        assertThat(a.shape()).containsExactly(4, 64);
        double bound = 1 / Math.sqrt(64);
        float max = 0;
        for (float v : a.data()) {
            assertThat(Math.abs(v)).isLessThanOrEqualTo((float) bound);
            max = Math.max(max, Math.abs(v));
        }
        assertThat(max).isGreaterThan((float) bound * 0.8f);
        HostTensor b = w.get(LoraSpec.peftKey(1, "value", 'B'));
        assertThat(b.shape()).containsExactly(64, 4);
        for (float v : b.data()) assertThat(v).isZero();
    }

    @Test
    void seededAndOrderIndependent() {
        LoraSpec qv = new LoraSpec(4, 8f, 0f, List.of("query", "value"));
        LoraSpec vq = new LoraSpec(4, 8f, 0f, List.of("value", "query"));
        assertThat(LoraInit.initialWeights(qv, 2, 32, 1)).isEqualTo(LoraInit.initialWeights(vq, 2, 32, 1));
        assertThat(LoraInit.initialWeights(qv, 2, 32, 1)).isNotEqualTo(LoraInit.initialWeights(qv, 2, 32, 2));
    }
}
