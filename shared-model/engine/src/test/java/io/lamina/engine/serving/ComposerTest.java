package io.lamina.engine.serving;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.routing.AdapterRouter;
import io.lamina.engine.routing.RoutedPrediction;
import io.lamina.engine.serving.Composer.Composition;
import io.lamina.engine.serving.Composer.Prediction;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.lamina.engine.serving.ServingFixtures.TEXTS;
import static io.lamina.engine.serving.ServingFixtures.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ComposerTest {
    static BaseModel base;
    static Composer composer;
    static Adapter a;
    static Adapter b;
    static Adapter c;

    @BeforeAll
    static void setUp() {
        base = BaseModel.miniLm();
        composer = new Composer(base);
        a = ServingFixtures.adapter(base, 11, 8, List.of("query", "value"), head(base, 11, "sports", "cooking", "animals"));
        b = ServingFixtures.adapter(base, 12, 4, List.of("key", "value"), head(base, 12, "cooking", "vehicles"));
        c = ServingFixtures.adapter(base, 13, 2, List.of("query"), head(base, 13, "weather"));
    }

    static PrototypeHead head(BaseModel base, long seed, String... labels) {
        java.util.Random rnd = new java.util.Random(seed);
        float[][] p = new float[labels.length][base.hiddenSize()];
        for (float[] row : p) for (int j = 0; j < row.length; j++) row[j] = (float) rnd.nextGaussian();
        return new PrototypeHead(List.of(labels), p, 16f);
    }

    private static void assertClose(float[][] x, float[][] y, float tol) {
        assertThat(x.length).isEqualTo(y.length);
        for (int i = 0; i < x.length; i++) assertThat(maxAbsDiff(x[i], y[i])).as("row %d", i).isLessThanOrEqualTo(tol);
    }

    @Test
    void weightedSumOfOneAdapterWithWeightOneIsSingle() {
        assertClose(composer.embed(TEXTS, Composition.weightedSum(List.of(a), 1f)), composer.embed(TEXTS, Composition.single(a)), 1e-6f);
        assertClose(composer.embed(TEXTS, Composition.single(a)), base.embed(TEXTS, a), 1e-5f);
        List<Prediction> single = composer.predict(TEXTS, Composition.single(a));
        List<Prediction> sum = composer.predict(TEXTS, Composition.weightedSum(List.of(a), 1f));
        for (int i = 0; i < TEXTS.size(); i++) {
            assertThat(sum.get(i).label()).isEqualTo(single.get(i).label());
            assertThat(sum.get(i).score()).isCloseTo(single.get(i).score(), within(1e-6f));
            assertThat(single.get(i).adapters()).containsExactly(0);
            assertThat(single.get(i).headAdapter()).isZero();
        }
    }

    @Test
    void stackIsTheWeightedSumWithAllWeightsOne() {
        List<Adapter> all = List.of(a, b, c);
        assertClose(composer.embed(TEXTS, Composition.stack(all)), composer.embed(TEXTS, Composition.weightedSum(all, 1f, 1f, 1f)), 1e-6f);
        List<Prediction> stack = composer.predict(TEXTS, Composition.stack(all));
        List<Prediction> sum = composer.predict(TEXTS, Composition.weightedSum(all, 1f, 1f, 1f));
        for (int i = 0; i < TEXTS.size(); i++) {
            assertThat(stack.get(i).label()).isEqualTo(sum.get(i).label());
            assertThat(stack.get(i).adapters()).containsExactly(0, 1, 2);
        }
    }

    @Test
    void weightedSumEqualsTheMergedWeightsOfTheSummedDeltas() {
        float wa = 0.7f;
        float wb = -1.3f;
        float[][] got = composer.embed(TEXTS, Composition.weightedSum(List.of(a, b), wa, wb));
        assertClose(got, base.embed(TEXTS, concatenated(List.of(a, b), new float[]{wa, wb})), 1e-5f);
        // and it is a real mix: neither adapter alone
        assertThat(maxAbsDiff(got[0], base.embed(List.of(TEXTS.get(0)), a)[0])).isGreaterThan(1e-2f);
    }

    /** Σ w_i ΔW_i as one LoRA of rank Σ r_i (scaling 1), merged by BaseModel: the reference. */
    static Adapter concatenated(List<Adapter> adapters, float[] weights) {
        int rank = 0;
        for (Adapter x : adapters) rank += x.spec().rank();
        int h = base.hiddenSize();
        List<String> targets = List.of("query", "key", "value");
        Map<String, HostTensor> w = new TreeMap<>();
        for (int l = 0; l < base.layers(); l++) {
            for (String m : targets) {
                float[] aCat = new float[rank * h];
                float[] bCat = new float[h * rank];
                int off = 0;
                for (int k = 0; k < adapters.size(); k++) {
                    Adapter x = adapters.get(k);
                    int r = x.spec().rank();
                    if (x.spec().targetModules().contains(m)) {
                        float[] ak = x.weights().get(LoraSpec.peftKey(l, m, 'A')).data();
                        float[] bk = x.weights().get(LoraSpec.peftKey(l, m, 'B')).data();
                        System.arraycopy(ak, 0, aCat, off * h, r * h);
                        float coef = weights[k] * x.spec().scaling();
                        for (int o = 0; o < h; o++) for (int j = 0; j < r; j++) bCat[o * rank + off + j] = coef * bk[o * r + j];
                    }
                    off += r;
                }
                w.put(LoraSpec.peftKey(l, m, 'A'), new HostTensor(new long[]{rank, h}, aCat));
                w.put(LoraSpec.peftKey(l, m, 'B'), new HostTensor(new long[]{h, rank}, bCat));
            }
        }
        return Adapter.lora(new LoraSpec(rank, rank, 0f, targets), w, null, base.id(), base.fingerprint(),
                new AdapterProvenance(AdapterProvenance.TRAINED, Map.of()));
    }

    @Test
    void unionHeadKeepsTheFirstPrototypeOfEachLabel() {
        List<Prediction> p = composer.predict(TEXTS, Composition.weightedSum(List.of(a, b, c), 0.5f, 0.5f, 0.5f));
        float[][] e = composer.embed(TEXTS, Composition.weightedSum(List.of(a, b, c), 0.5f, 0.5f, 0.5f));
        // union: sports, cooking, animals (a), vehicles (b), weather (c); b's "cooking" is shadowed by a's
        List<String> labels = List.of("sports", "cooking", "animals", "vehicles", "weather");
        float[][] protos = {a.head().prototypes()[0], a.head().prototypes()[1], a.head().prototypes()[2], b.head().prototypes()[1], c.head().prototypes()[0]};
        int[] owner = {0, 0, 0, 1, 2};
        float[][] unit = AdapterRouter.normalised(protos);
        for (int i = 0; i < TEXTS.size(); i++) {
            int best = 0;
            float bestCos = Float.NEGATIVE_INFINITY;
            for (int k = 0; k < unit.length; k++) {
                float cos = 0;
                for (int j = 0; j < unit[k].length; j++) cos += e[i][j] * unit[k][j];
                if (cos > bestCos) {
                    bestCos = cos;
                    best = k;
                }
            }
            assertThat(p.get(i).label()).isEqualTo(labels.get(best));
            assertThat(p.get(i).headAdapter()).isEqualTo(owner[best]);
            assertThat(p.get(i).score()).isCloseTo(bestCos, within(1e-5f));
            assertThat(p.get(i).adapters()).containsExactly(0, 1, 2);
        }
    }

    /** The router before mixed batching: one merged-weight embed per adapter. */
    static List<RoutedPrediction> perAdapterRouting(List<String> texts, List<Adapter> adapters) {
        List<float[][]> e = new ArrayList<>();
        for (Adapter x : adapters) e.add(base.embed(texts, x));
        return AdapterRouter.mostConfident(e, adapters);
    }

    @Test
    void routedPicksTheSameAdaptersAsPerAdapterRouting() {
        // heads made of texts' own embeddings, so each text has a clear home adapter
        List<Adapter> candidates = new ArrayList<>();
        Adapter[] raw = {a, b, c};
        for (int k = 0; k < 3; k++) {
            List<String> labels = new ArrayList<>();
            List<String> own = new ArrayList<>();
            for (int i = k; i < TEXTS.size(); i += 3) {
                labels.add("t" + i);
                own.add(TEXTS.get(i));
            }
            float[][] protos = base.embed(own, raw[k]);
            Adapter x = raw[k];
            candidates.add(new Adapter(x.kind(), x.spec(), x.weights(), new PrototypeHead(labels, protos, 16f), x.baseModelId(), x.baseFingerprint(), x.provenance()));
        }
        List<RoutedPrediction> old = perAdapterRouting(TEXTS, candidates);
        List<RoutedPrediction> routed = new AdapterRouter(base).predict(TEXTS, candidates);
        List<Prediction> composed = composer.predict(TEXTS, Composition.routed(candidates));
        for (int i = 0; i < TEXTS.size(); i++) {
            assertThat(old.get(i).adapterIndex()).isEqualTo(i % 3);
            assertThat(routed.get(i).adapterIndex()).isEqualTo(old.get(i).adapterIndex());
            assertThat(routed.get(i).label()).isEqualTo(old.get(i).label()).isEqualTo("t" + i);
            assertThat(routed.get(i).score()).isCloseTo(old.get(i).score(), within(1e-5f));
            assertThat(composed.get(i).adapters()).containsExactly(old.get(i).adapterIndex());
            assertThat(composed.get(i).headAdapter()).isEqualTo(old.get(i).adapterIndex());
            assertThat(composed.get(i).label()).isEqualTo(old.get(i).label());
            assertThat(composed.get(i).score()).isCloseTo(old.get(i).score(), within(1e-5f));
        }
        // random heads: the decisions still agree wherever they are not near-ties
        List<RoutedPrediction> oldRandom = perAdapterRouting(TEXTS, List.of(a, b, c));
        List<RoutedPrediction> newRandom = new AdapterRouter(base).predict(TEXTS, List.of(a, b, c));
        for (int i = 0; i < TEXTS.size(); i++) {
            assertThat(newRandom.get(i).score()).isCloseTo(oldRandom.get(i).score(), within(1e-5f));
            assertThat(newRandom.get(i).adapterIndex()).isEqualTo(oldRandom.get(i).adapterIndex());
        }
    }

    @Test
    void requestsWithDifferentCompositionsShareOneBatch() {
        List<String> t1 = TEXTS.subList(0, 5);
        List<String> t2 = TEXTS.subList(5, 9);
        List<String> t3 = TEXTS.subList(9, 12);
        List<Composer.Request> requests = List.of(
                new Composer.Request(t1, Composition.single(b)),
                new Composer.Request(t2, Composition.weightedSum(List.of(a, c), 0.3f, 2f)),
                new Composer.Request(t3, Composition.routed(List.of(a, b, c))),
                new Composer.Request(t1, Composition.stack(List.of(c, a))));
        List<List<Prediction>> together = composer.predictAll(requests);
        for (int q = 0; q < requests.size(); q++) {
            List<Prediction> alone = composer.predict(requests.get(q).texts(), requests.get(q).composition());
            assertThat(together.get(q)).hasSize(alone.size());
            for (int i = 0; i < alone.size(); i++) {
                assertThat(together.get(q).get(i).label()).isEqualTo(alone.get(i).label());
                assertThat(together.get(q).get(i).adapters()).isEqualTo(alone.get(i).adapters());
                assertThat(together.get(q).get(i).score()).isCloseTo(alone.get(i).score(), within(1e-5f));
            }
        }
    }

    @Test
    void rejectsMalformedCompositions() {
        assertThatThrownBy(() -> new Composition(Composer.Mode.SINGLE, List.of(a, b), null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Composition.weightedSum(List.of(a, b), 1f)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Composition(Composer.Mode.STACK, List.of(a, b), new float[]{1f, 2f})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Composition.routed(List.of())).isInstanceOf(IllegalArgumentException.class);
        Adapter headless = new Adapter(a.kind(), a.spec(), a.weights(), null, a.baseModelId(), a.baseFingerprint(), a.provenance());
        assertThatThrownBy(() -> composer.predict(TEXTS, Composition.single(headless))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> composer.predict(TEXTS, Composition.routed(List.of(a, headless)))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> composer.embed(TEXTS, Composition.routed(List.of(a)))).isInstanceOf(IllegalArgumentException.class);
        assertThat(Arrays.asList(composer.embed(TEXTS, Composition.stack(List.of(headless, b))))).hasSize(TEXTS.size());
    }
}
