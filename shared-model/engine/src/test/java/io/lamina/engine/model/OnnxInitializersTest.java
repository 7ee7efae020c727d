package io.lamina.engine.model;

import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class OnnxInitializersTest {
    @Test
    void namesAllMatMulWeightsOfMiniLm() throws Exception {
        byte[] bytes;
        try (InputStream in = getClass().getResourceAsStream(BaseModel.ONNX_RESOURCE)) {
            bytes = in.readAllBytes();
        }
        OnnxInitializers onnx = OnnxInitializers.parse(bytes);
        assertThat(onnx.initializers()).hasSize(102);
        Map<String, String> renamed = onnx.namedMatMulWeights();
        assertThat(renamed).hasSize(36);
        assertThat(renamed.keySet()).allMatch(k -> k.startsWith("onnx::MatMul_"));
        Map<String, HostTensor> w = onnx.namedFloatTensors();
        for (int l = 0; l < 6; l++) {
            String p = "encoder.layer." + l + ".";
            assertThat(w.get(p + "attention.self.query.weight").shape()).containsExactly(384, 384);
            assertThat(w.get(p + "attention.self.value.weight").shape()).containsExactly(384, 384);
            assertThat(w.get(p + "intermediate.dense.weight").shape()).containsExactly(384, 1536);
            assertThat(w.get(p + "output.dense.weight").shape()).containsExactly(1536, 384);
        }
        assertThat(w.get("embeddings.word_embeddings.weight").shape()).containsExactly(30522, 384);
        assertThat(onnx.initializers().get("embeddings.position_ids").longs()).hasSize(512);
    }

    @Test
    void rejectsGarbage() {
        assertThatThrownBy(() -> OnnxInitializers.parse(new byte[]{0x3a, 0x7f, 0x01})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> OnnxInitializers.parse(new byte[]{0x08, 0x01})).isInstanceOf(IllegalArgumentException.class);
    }
}
