package io.lamina.engine.merge;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.io.AdapterFixtures;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TaskArithmeticMergeTest {

    private static final int HIDDEN = 8;
    private static final int LAYERS = 2;
    private static final List<String> QV = List.of("query", "value");

    private static Adapter adapter(long seed, int rank, float alpha, List<String> labels) {
        return AdapterFixtures.randomAdapter(seed, new LoraSpec(rank, alpha, 0.1f, QV), LAYERS, HIDDEN, labels, "sha256:base");
    }

    private static void assertClose(HostTensor actual, double[] expected, double tol) {
        assertThat(actual.data()).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual.data()[i]).as("element " + i).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(tol));
        }
    }

    @Test
    void deltaWeightIsScaledBTimesA() {
        LoraSpec spec = new LoraSpec(1, 2f, 0f, List.of("query"));
        Map<String, HostTensor> w = Map.of(
                LoraSpec.peftKey(0, "query", 'A'), new HostTensor(new long[]{1, 2}, new float[]{1, 2}),
                LoraSpec.peftKey(0, "query", 'B'), new HostTensor(new long[]{3, 1}, new float[]{1, -1, 0.5f}));
        Adapter a = Adapter.lora(spec, w, new PrototypeHead(List.of("x"), new float[][]{{1, 0}}, 10f), "m", "f",
                new AdapterProvenance("trained", Map.of()));
        HostTensor d = TaskArithmeticMerge.deltaWeight(a, 0, "query");
        assertThat(d.shape()).containsExactly(3, 2);
        // s = 2: 2 * [1;-1;.5] [1 2]
        assertThat(d.data()).containsExactly(2f, 4f, -2f, -4f, 1f, 2f);
        assertThatThrownBy(() -> TaskArithmeticMerge.deltaWeight(a, 1, "query"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layer 1 query");
    }

    @Test
    void mergedDeltaIsTheWeightedSumOfDeltas() {
        Adapter a1 = adapter(1, 2, 4f, List.of("a", "b"));
        Adapter a2 = adapter(2, 3, 8f, List.of("c"));
        Adapter a3 = adapter(3, 4, 4f, List.of("d", "e"));
        List<Double> w = List.of(0.7, -0.3, 1.5);
        Adapter m = TaskArithmeticMerge.merge(List.of(a1, a2, a3), w, Map.of());

        assertThat(m.spec().rank()).isEqualTo(9);
        assertThat(m.spec().scaling()).isEqualTo(1f);
        assertThat(m.spec().targetModules()).isEqualTo(QV);
        assertThat(m.weights()).hasSize(LAYERS * QV.size() * 2);
        List<Adapter> inputs = List.of(a1, a2, a3);
        for (int layer = 0; layer < LAYERS; layer++) {
            for (String module : QV) {
                double[] expected = new double[HIDDEN * HIDDEN];
                for (int i = 0; i < inputs.size(); i++) {
                    HostTensor d = TaskArithmeticMerge.deltaWeight(inputs.get(i), layer, module);
                    for (int k = 0; k < expected.length; k++) expected[k] += w.get(i) * d.data()[k];
                }
                HostTensor merged = TaskArithmeticMerge.deltaWeight(m, layer, module);
                assertThat(merged.shape()).containsExactly(HIDDEN, HIDDEN);
                assertClose(merged, expected, 1e-5);
            }
        }
        // and it is a valid, storable adapter
        Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(m));
        assertThat(back.weights()).isEqualTo(m.weights());
    }

    @Test
    void singleAdapterWithWeightOneKeepsItsDelta() {
        Adapter a = adapter(5, 4, 16f, List.of("a"));
        Adapter m = TaskArithmeticMerge.merge(List.of(a), List.of(1.0), Map.of());
        double[] expected = new double[HIDDEN * HIDDEN];
        HostTensor d = TaskArithmeticMerge.deltaWeight(a, 1, "value");
        for (int k = 0; k < expected.length; k++) expected[k] = d.data()[k];
        assertClose(TaskArithmeticMerge.deltaWeight(m, 1, "value"), expected, 1e-5);
    }

    @Test
    void headIsTheUnionOfClassesAndProvenanceSaysHow() {
        Adapter a1 = adapter(1, 2, 4f, List.of("cat", "dog"));
        Adapter a2 = adapter(2, 2, 4f, List.of("dog", "eel"));
        Adapter m = TaskArithmeticMerge.merge(List.of(a1, a2), List.of(0.5, 0.5),
                Map.of("merged-from", "sha256:aaa,sha256:bbb", "requested-by", "test"));
        assertThat(m.head().labels()).containsExactly("cat", "dog", "eel");
        // "dog" is in both heads: the normalised mean of both prototypes; "eel" only in the second
        float[][] n1 = io.lamina.engine.routing.AdapterRouter.normalised(a1.head().prototypes());
        float[][] n2 = io.lamina.engine.routing.AdapterRouter.normalised(a2.head().prototypes());
        float[] dog = new float[n1[1].length];
        for (int j = 0; j < dog.length; j++) dog[j] = n1[1][j] + n2[0][j];
        float[] expectedDog = io.lamina.engine.routing.AdapterRouter.normalised(new float[][]{dog})[0];
        for (int j = 0; j < dog.length; j++) assertThat(m.head().prototypes()[1][j]).isCloseTo(expectedDog[j], org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(m.head().prototypes()[2]).isEqualTo(n2[1]);
        assertThat(m.provenance().method()).isEqualTo("merged");
        assertThat(m.provenance().details())
                .containsEntry("merge-method", "task_arithmetic")
                .containsEntry("merge-weights", "0.5,0.5")
                .containsEntry("merged-from", "sha256:aaa,sha256:bbb")
                .containsEntry("requested-by", "test")
                .containsEntry("merged-rank", "4");
        assertThat(m.provenance().details().get("duplicate-labels")).contains("dog").contains("averaged");
        assertThat(m.baseFingerprint()).isEqualTo("sha256:base");

        Adapter noDup = TaskArithmeticMerge.merge(List.of(a1), List.of(1.0), Map.of());
        assertThat(noDup.provenance().details()).doesNotContainKey("duplicate-labels");
    }

    @Test
    void rejectsMismatchedInputs() {
        Adapter a1 = adapter(1, 2, 4f, List.of("a"));
        Adapter otherBase = AdapterFixtures.randomAdapter(2, new LoraSpec(2, 4f, 0.1f, QV), LAYERS, HIDDEN, List.of("b"), "sha256:other");
        assertThatThrownBy(() -> TaskArithmeticMerge.merge(List.of(a1, otherBase), List.of(1.0, 1.0), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adapter 1 has base fingerprint sha256:other but adapter 0 has sha256:base");
        Adapter qk = AdapterFixtures.randomAdapter(2, new LoraSpec(2, 4f, 0.1f, List.of("query", "key")), LAYERS, HIDDEN, List.of("b"), "sha256:base");
        assertThatThrownBy(() -> TaskArithmeticMerge.merge(List.of(a1, qk), List.of(1.0, 1.0), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adapter 1 targets [query, key] but adapter 0 targets [query, value]");
        Adapter threeLayers = AdapterFixtures.randomAdapter(2, new LoraSpec(2, 4f, 0.1f, QV), 3, HIDDEN, List.of("b"), "sha256:base");
        assertThatThrownBy(() -> TaskArithmeticMerge.merge(List.of(a1, threeLayers), List.of(1.0, 1.0), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adapter 1 wraps 6 sites");
        Adapter wider = AdapterFixtures.randomAdapter(2, new LoraSpec(2, 4f, 0.1f, QV), LAYERS, 4, List.of("b"), "sha256:base");
        assertThatThrownBy(() -> TaskArithmeticMerge.merge(List.of(a1, wider), List.of(1.0, 1.0), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maps 4 -> 4 but adapter 0 maps 8 -> 8");
        assertThatThrownBy(() -> TaskArithmeticMerge.merge(List.of(a1, a1), List.of(1.0, Double.NaN), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("merge weight 1 must be finite");
        assertThatThrownBy(() -> TaskArithmeticMerge.merge(List.of(a1, a1), List.of(1.0), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 adapters, 1 weights");
        assertThatThrownBy(() -> TaskArithmeticMerge.merge(List.of(), List.of(), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one adapter");
        Adapter big = adapter(9, 200, 4f, List.of("z"));
        assertThatThrownBy(() -> TaskArithmeticMerge.merge(List.of(big, big), List.of(1.0, 1.0), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("merged rank 400");
    }
}
