package io.lamina.engine.serving;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.lora.LoraSpec;
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
        // different ranks and targets, so the stacks need rank padding and missing-target blocks
        adapters = List.of(
                ServingFixtures.adapter(base, 1, 8, List.of("query", "value"), null),
                ServingFixtures.adapter(base, 2, 4, List.of("key"), null),
                ServingFixtures.adapter(base, 3, 16, List.of("query", "key", "value"), null),
                ServingFixtures.adapter(base, 4, 2, List.of("value"), null));
        // every adapter and the base (null) on rows of different lengths, interleaved
        perRow = new ArrayList<>();
        for (int i = 0; i < TEXTS.size(); i++) perRow.add(i % 5 == 4 ? null : adapters.get(i % 5));
        expected = new float[TEXTS.size()][];
        for (int i = 0; i < TEXTS.size(); i++) expected[i] = base.embed(List.of(TEXTS.get(i)), perRow.get(i))[0];
    }

    private static void assertMatches(float[][] got, String what) {
        assertThat(got.length).isEqualTo(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(maxAbsDiff(got[i], expected[i])).as("%s row %d", what, i).isLessThanOrEqualTo(1e-5f);
        }
    }

    @Test
    void theAdaptersReallyChangeTheEmbeddings() {
        for (int i = 0; i < TEXTS.size(); i++) {
            float d = maxAbsDiff(expected[i], base.embed(List.of(TEXTS.get(i)), null)[0]);
            if (perRow.get(i) == null) assertThat(d).isZero();
            else assertThat(d).as("row %d", i).isGreaterThan(1e-2f);
        }
    }

    @Test
    void mixedBatchEqualsOneEmbedPerRow() {
        assertMatches(new MixedAdapterEncoder(base).embed(TEXTS, perRow), "default");
    }

    @Test
    void everyStrategyAndChunkingGivesTheSameEmbeddings() {
        // chunk 5: several chunks, mixed ones and (after sorting) some of one adapter only
        for (MixedAdapterEncoder.Strategy s : MixedAdapterEncoder.Strategy.values()) {
            assertMatches(new MixedAdapterEncoder(base, s, 5).embed(TEXTS, perRow), s + " chunk 5");
        }
        assertMatches(new MixedAdapterEncoder(base, MixedAdapterEncoder.Strategy.GATHER, 1).embed(TEXTS, perRow), "GATHER chunk 1");
    }

    @Test
    void allBaseRowsAndOneAdapterForAllRows() {
        List<Adapter> none = Arrays.asList(new Adapter[TEXTS.size()]);
        float[][] got = new MixedAdapterEncoder(base).embed(TEXTS, none);
        float[][] want = base.embed(TEXTS, null);
        for (int i = 0; i < TEXTS.size(); i++) assertThat(maxAbsDiff(got[i], want[i])).isLessThanOrEqualTo(1e-5f);

        Adapter a = adapters.get(2);
        got = new MixedAdapterEncoder(base).embed(TEXTS, java.util.Collections.nCopies(TEXTS.size(), a));
        want = base.embed(TEXTS, a);
        for (int i = 0; i < TEXTS.size(); i++) assertThat(maxAbsDiff(got[i], want[i])).isLessThanOrEqualTo(1e-5f);
        assertThat(new MixedAdapterEncoder(base).embed(List.of(), List.of())).isEmpty();
    }

    @Test
    void chunksTradePaddingAgainstTheCostOfAForward() {
        // no overhead: every distinct length its own chunk (no padding at all)
        assertThat(MixedAdapterEncoder.chunkBounds(new int[]{3, 3, 5, 9}, 64, 0)).containsExactly(0, 2, 3, 4);
        // a big overhead: one chunk
        assertThat(MixedAdapterEncoder.chunkBounds(new int[]{3, 3, 5, 9}, 64, 100)).containsExactly(0, 4);
        // at most maxRows per chunk; a run of equal lengths longer than that may be split
        assertThat(MixedAdapterEncoder.chunkBounds(new int[]{4, 4, 4, 4, 4}, 2, 1)).containsExactly(0, 2, 4, 5);
        // equal lengths are never split otherwise: a cut only between 3 and 7
        assertThat(MixedAdapterEncoder.chunkBounds(new int[]{3, 3, 3, 7, 7}, 3, 1)).containsExactly(0, 3, 5);
        assertThat(MixedAdapterEncoder.chunkBounds(new int[0], 64, 16)).containsExactly(0);
    }

    @Test
    void rejectsForeignAndIncompleteAdapters() {
        Adapter a = adapters.get(0);
        Adapter foreign = Adapter.lora(a.spec(), a.weights(), null, a.baseModelId(), "sha256:other", a.provenance());
        MixedAdapterEncoder enc = new MixedAdapterEncoder(base);
        assertThatThrownBy(() -> enc.embed(List.of("x"), List.of(foreign))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sha256:other");
        var w = new java.util.TreeMap<>(a.weights());
        w.remove(LoraSpec.peftKey(3, "value", 'B'));
        Adapter broken = Adapter.lora(a.spec(), w, null, a.baseModelId(), a.baseFingerprint(), a.provenance());
        assertThatThrownBy(() -> enc.embed(List.of("x"), List.of(broken))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layer.3");
        assertThatThrownBy(() -> enc.embed(List.of("x", "y"), List.of(a))).isInstanceOf(IllegalArgumentException.class);
    }
}
