package io.lamina.engine.serving;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.model.BaseModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.lamina.engine.serving.ServingFixtures.TEXTS;
import static io.lamina.engine.serving.ServingFixtures.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MixedAdapterEncoderTest {
    static BaseModel base;
    static List<Adapter> adapters;
    static List<Adapter> perRow;
    static float[][] expected;

    @BeforeAll
    static void setUp() {
        base = BaseModel.miniLm();
        adapters = List.of(
                ServingFixtures.adapter(base, 1, 8, List.of("query", "value"), null),
                ServingFixtures.adapter(base, 2, 4, List.of("key"), null),
                ServingFixtures.adapter(base, 3, 16, List.of("query", "key", "value"), null),
                ServingFixtures.adapter(base, 4, 2, List.of("value"), null));
        // every adapter, and the base (null), on rows of different lengths, interleaved
        perRow = new ArrayList<>();
        for (int i = 0; i < TEXTS.size(); i++) perRow.add(i % 5 == 4 ? null : adapters.get(i % 5));
        expected = new float[TEXTS.size()][];
        for (int i = 0; i < TEXTS.size(); i++) expected[i] = base.embed(List.of(TEXTS.get(i)), perRow.get(i))[0];
    }

    @Test
    void adaptersReallyChangeTheEmbeddings() {
        for (int i = 0; i < TEXTS.size(); i++) {
            float d = maxAbsDiff(expected[i], base.embed(List.of(TEXTS.get(i)), null)[0]);
            if (perRow.get(i) == null) assertThat(d).isZero();
            else assertThat(d).as("row %d", i).isGreaterThan(1e-2f);
        }
    }

    @Test
    void mixedBatchEqualsPerAdapterEmbeddingsForEveryStrategyAndChunking() {
        for (MixedAdapterEncoder.Strategy s : MixedAdapterEncoder.Strategy.values()) {
            for (int chunk : new int[]{64, 5, 1}) {
                float[][] got = new MixedAdapterEncoder(base, s, chunk).embed(TEXTS, perRow);
                for (int i = 0; i < TEXTS.size(); i++) {
                    assertThat(maxAbsDiff(got[i], expected[i])).as("%s chunk %d row %d", s, chunk, i).isLessThanOrEqualTo(1e-5f);
                }
            }
        }
    }
}
