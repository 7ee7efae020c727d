package io.lamina.engine.model;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class BaseModelTest {
    private static float dot(float[] a, float[] b) {
        float s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    @Test
    void tokenizerMatchesPublishedIds() {
        List<long[]> ids = BaseModel.miniLm().tokenize(List.of("A man is eating a piece of bread."), 128);
        assertThat(ids.get(0)).containsExactly(101, 1037, 2158, 2003, 5983, 1037, 3538, 1997, 7852, 1012, 102);
    }

    @Test
    void truncationKeepsSep() {
        long[] ids = BaseModel.miniLm().tokenize(List.of("A man is eating a piece of bread."), 5).get(0);
        assertThat(ids).containsExactly(101, 1037, 2158, 2003, 102);
    }

    @Test
    void reproducesPublishedSimilarity() {
        BaseModel m = BaseModel.miniLm();
        assertThat(m.hiddenSize()).isEqualTo(384);
        assertThat(m.layers()).isEqualTo(6);
        assertThat(m.fingerprint()).matches("sha256:[0-9a-f]{64}");
        float[][] e = m.embed(List.of("A man is eating food.", "A man is eating a piece of bread."), null);
        assertThat(dot(e[0], e[0])).isCloseTo(1f, within(1e-5f));
        assertThat(dot(e[0], e[1])).isCloseTo(0.755f, within(0.005f));
    }

    @Test
    void paddingDoesNotChangeEmbeddings() {
        BaseModel m = BaseModel.miniLm();
        String shortText = "A man is eating food.";
        float[] alone = m.embed(List.of(shortText), null)[0];
        float[] padded = m.embed(List.of(shortText, "A considerably longer sentence that forces padding of the short one in the batch."), null)[0];
        for (int i = 0; i < alone.length; i++) assertThat(padded[i]).isCloseTo(alone[i], within(1e-5f));
    }
}
