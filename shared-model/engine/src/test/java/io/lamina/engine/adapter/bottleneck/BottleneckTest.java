package io.lamina.engine.adapter.bottleneck;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Architecture;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Placement;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Position;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Tensor;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.data.WordNetSupersenses;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.merge.AdapterMerger;
import io.lamina.engine.merge.MergeRecipe;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.BottleneckArrays;
import io.lamina.engine.serving.MixedAdapterEncoder;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Bottleneck adapters (Houlsby / Pfeiffer, sequential / parallel) on the real MiniLM weights: shapes, init, forward, training, sharing. */
class BottleneckTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final List<String> THINGS = List.of("animal", "vehicle", "food");
    private static final List<String> TEXTS = List.of("a small boat on the lake", "the striker kicked the ball into the net",
            "bake the muffins in a hot oven until golden", "Rain");
    private static final int H = 384;
    private static final BottleneckSpec PFEIFFER = new BottleneckSpec(Architecture.PFEIFFER, Placement.SEQUENTIAL, 16);
    private static final BottleneckSpec HOULSBY = new BottleneckSpec(Architecture.HOULSBY, Placement.SEQUENTIAL, 16);

    static Adapter adapter(BottleneckSpec spec, Map<String, HostTensor> w) {
        float[][] protos = new float[THINGS.size()][H];
        for (int c = 0; c < protos.length; c++) protos[c][c] = 1f;
        return Adapter.of(spec, w, new PrototypeHead(THINGS, protos, 16f), BASE.id(), BASE.fingerprint(),
                new AdapterProvenance(AdapterProvenance.TRAINED, Map.of("seed", "1")));
    }

    /** The init with every up-projection (weight and bias) drawn around 0, as after training. */
    static Map<String, HostTensor> trainedLike(BottleneckSpec spec, long seed) {
        Random rnd = new Random(seed);
        Map<String, HostTensor> w = new TreeMap<>();
        for (Map.Entry<String, HostTensor> e : BottleneckInit.initialWeights(spec, BASE.layers(), H, seed).entrySet()) {
            float[] d = e.getValue().data().clone();
            if (!BottleneckInit.tensorOf(e.getKey()).isDown()) {
                for (int i = 0; i < d.length; i++) d[i] = (float) (0.05 * rnd.nextGaussian());
            }
            w.put(e.getKey(), new HostTensor(e.getValue().shape(), d));
        }
        return w;
    }

    private static float maxAbs(float[] a, float[] b) {
        float d = 0;
        for (int i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
        return d;
    }

    private static float[] data(Adapter a, int layer, Position p, Tensor t) {
        return a.weights().get(BottleneckSpec.peftKey(layer, p, t)).data();
    }

    @Test
    void houlsbyHasTwoAdaptersPerLayerPfeifferOneWithTheParameterCountOfTheFormula() {
        assertThat(HOULSBY.adaptersPerLayer()).isEqualTo(2);
        assertThat(HOULSBY.positions()).containsExactly(Position.ATTENTION, Position.FFN);
        assertThat(PFEIFFER.adaptersPerLayer()).isEqualTo(1);
        assertThat(PFEIFFER.positions()).containsExactly(Position.FFN);
        assertThat(BottleneckSpec.defaults().width(H)).isEqualTo(24);
        long perAdapter = 2L * H * 24 + 24 + H;
        assertThat(PFEIFFER.parametersPerAdapter(H)).isEqualTo(perAdapter);
        assertThat(HOULSBY.parametersPerLayer(H)).isEqualTo(2 * perAdapter);

        Map<String, HostTensor> h = BottleneckInit.initialWeights(HOULSBY, BASE.layers(), H, 7);
        Map<String, HostTensor> p = BottleneckInit.initialWeights(PFEIFFER, BASE.layers(), H, 7);
        assertThat(h).hasSize(6 * 2 * 4);
        assertThat(p).hasSize(6 * 4);
        assertThat(h.keySet()).contains("base_model.model.encoder.layer.0.attention.output.adapter.down.weight",
                "base_model.model.encoder.layer.5.output.adapter.up.bias");
        assertThat(h.get(BottleneckSpec.peftKey(0, Position.ATTENTION, Tensor.DOWN_WEIGHT)).shape()).containsExactly(24, H);
        assertThat(h.get(BottleneckSpec.peftKey(0, Position.ATTENTION, Tensor.UP_WEIGHT)).shape()).containsExactly(H, 24);
        long count = p.values().stream().mapToLong(t -> t.data().length).sum();
        assertThat(count).isEqualTo(6 * perAdapter);
        Adapter a = adapter(HOULSBY, h);
        assertThat(a.trainableParameters()).isEqualTo(6 * 2 * perAdapter + 3L * H);

        // init: Xavier-uniform down (seeded), zero down bias, zero up weight and bias
        double bound = Math.sqrt(6.0 / (H + 24));
        for (Map.Entry<String, HostTensor> e : h.entrySet()) {
            Tensor t = BottleneckInit.tensorOf(e.getKey());
            float[] d = e.getValue().data();
            if (t == Tensor.DOWN_WEIGHT) {
                float max = 0;
                for (float x : d) max = Math.max(max, Math.abs(x));
                assertThat(max).as(e.getKey()).isLessThanOrEqualTo((float) bound).isGreaterThan((float) (0.9 * bound));
            } else {
                for (float x : d) assertThat(x).as(e.getKey()).isZero();
            }
        }
        assertThat(BottleneckInit.initialWeights(HOULSBY, BASE.layers(), H, 7).get(BottleneckSpec.peftKey(3, Position.FFN, Tensor.DOWN_WEIGHT)).data())
                .containsExactly(h.get(BottleneckSpec.peftKey(3, Position.FFN, Tensor.DOWN_WEIGHT)).data());

        assertThatThrownBy(() -> new BottleneckSpec(null, Placement.PARALLEL, 16)).hasMessageContaining("architecture is required");
        assertThatThrownBy(() -> new BottleneckSpec(Architecture.HOULSBY, null, 16)).hasMessageContaining("placement is required");
        assertThatThrownBy(() -> new BottleneckSpec(Architecture.HOULSBY, Placement.PARALLEL, 0)).hasMessageContaining("must be in [1, 4096], got 0");
        assertThatThrownBy(() -> new BottleneckSpec(Architecture.HOULSBY, Placement.PARALLEL, 500).width(H))
                .hasMessageContaining("reduction factor 500 leaves no bottleneck on a 384-wide encoder");
    }

    @Test
    void zeroUpIsTheBaseModelForEveryArchitectureAndPlacement() {
        float[][] base = BASE.embed(TEXTS, null);
        for (Architecture arch : Architecture.values()) {
            for (Placement place : Placement.values()) {
                BottleneckSpec spec = new BottleneckSpec(arch, place, 16);
                float[][] adapted = BASE.embed(TEXTS, adapter(spec, BottleneckInit.initialWeights(spec, BASE.layers(), H, 3)));
                assertThat(maxAbsDiff(adapted, base)).as(spec.toString()).isLessThanOrEqualTo(1e-6f);
                // and a non-zero up makes a different model, sequential and parallel differently
                float[][] moved = BASE.embed(TEXTS, adapter(spec, trainedLike(spec, 3)));
                assertThat(maxAbsDiff(moved, base)).as(spec.toString()).isGreaterThan(1e-3f);
            }
        }
        BottleneckSpec par = new BottleneckSpec(Architecture.HOULSBY, Placement.PARALLEL, 16);
        assertThat(maxAbsDiff(BASE.embed(TEXTS, adapter(HOULSBY, trainedLike(HOULSBY, 5))), BASE.embed(TEXTS, adapter(par, trainedLike(par, 5)))))
                .isGreaterThan(1e-3f);
    }

    @Test
    void withADeadDownProjectionSequentialAndParallelAddTheSameConstantAtTheSamePlace() {
        // W_down = b_down = 0 makes a(h) = W_up GELU(0) + b_up = b_up whatever h is: where the adapter reads its
        // input no longer matters, so both placements must add b_up to the same residual sum.
        BottleneckSpec par = new BottleneckSpec(Architecture.HOULSBY, Placement.PARALLEL, 16);
        Map<String, HostTensor> w = trainedLike(HOULSBY, 11);
        for (Map.Entry<String, HostTensor> e : w.entrySet()) {
            if (BottleneckInit.tensorOf(e.getKey()).isDown()) e.setValue(new HostTensor(e.getValue().shape(), new float[e.getValue().data().length]));
        }
        float[][] seq = BASE.embed(TEXTS, adapter(HOULSBY, w));
        assertThat(maxAbsDiff(seq, BASE.embed(TEXTS, adapter(par, w)))).isLessThan(1e-6f);
        assertThat(maxAbsDiff(seq, BASE.embed(TEXTS, null))).isGreaterThan(1e-3f);
    }

    /** Gradients of {@code sum(embeddings ⊙ direction)} with respect to every tensor, keyed like the weights. */
    private static Map<String, float[]> gradients(BottleneckSpec spec, Map<String, HostTensor> weights) {
        List<long[]> ids = BASE.tokenize(TEXTS, 32);
        Map<String, float[]> out = new TreeMap<>();
        synchronized (Autograd.STEP_LOCK) {
            try (NDManager m = BASE.manager().newSubManager(); NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDArray[][][] t = new NDArray[BASE.layers()][spec.adaptersPerLayer()][Tensor.values().length];
                Map<String, NDArray> leaves = new TreeMap<>();
                for (int l = 0; l < BASE.layers(); l++) {
                    for (int p = 0; p < spec.adaptersPerLayer(); p++) {
                        for (Tensor k : Tensor.values()) {
                            String key = BottleneckSpec.peftKey(l, spec.positions().get(p), k);
                            HostTensor h = weights.get(key);
                            NDArray a = m.create(h.data(), new Shape(h.shape()));
                            a.setRequiresGradient(true);
                            t[l][p][k.ordinal()] = a;
                            leaves.put(key, a);
                        }
                    }
                }
                Random r = new Random(9);
                float[] dir = new float[ids.size() * H];
                for (int i = 0; i < dir.length; i++) dir[i] = (float) r.nextGaussian();
                NDArray direction = m.create(dir, new Shape(ids.size(), H));
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    collector.backward(BASE.encode(m, ids, null, null, new BottleneckArrays(spec, t), true).mul(direction).sum());
                }
                boolean grad = Autograd.disable();
                try {
                    for (Map.Entry<String, NDArray> e : leaves.entrySet()) out.put(e.getKey(), e.getValue().getGradient().toFloatArray());
                } finally {
                    Autograd.restore(grad);
                }
            }
        }
        return out;
    }

    private static double norm(Map<String, float[]> grads, Tensor t) {
        double s = 0;
        for (Map.Entry<String, float[]> e : grads.entrySet()) {
            if (BottleneckInit.tensorOf(e.getKey()) != t) continue;
            for (float x : e.getValue()) s += (double) x * x;
        }
        return Math.sqrt(s);
    }

    @Test
    void zeroUpGivesDownNoGradientUntilTheFirstStepAndBothZeroIsDegenerate() {
        TrainingSpec oneStep = new TrainingSpec(1, 15, 1e-2f, 0f, 0f, 1f, 21L, 32, 0);
        Map<String, HostTensor> init = BottleneckInit.initialWeights(HOULSBY, BASE.layers(), H, 21);
        Map<String, float[]> g0 = gradients(HOULSBY, init);
        assertThat(norm(g0, Tensor.DOWN_WEIGHT)).isZero();
        assertThat(norm(g0, Tensor.DOWN_BIAS)).isZero();
        assertThat(norm(g0, Tensor.UP_WEIGHT)).isGreaterThan(1e-4);
        assertThat(norm(g0, Tensor.UP_BIAS)).isGreaterThan(1e-4);

        // PETL-AST's both-zero init: GELU(0) = 0 kills every weight gradient, only b_up ever learns
        Map<String, HostTensor> bothZero = new TreeMap<>(init);
        bothZero.replaceAll((k, v) -> BottleneckInit.tensorOf(k) == Tensor.DOWN_WEIGHT ? new HostTensor(v.shape(), new float[v.data().length]) : v);
        Map<String, float[]> gz = gradients(HOULSBY, bothZero);
        assertThat(norm(gz, Tensor.DOWN_WEIGHT)).isZero();
        assertThat(norm(gz, Tensor.UP_WEIGHT)).isZero();
        assertThat(norm(gz, Tensor.UP_BIAS)).isGreaterThan(1e-4);

        // one trainer step (seed 21: the same init): up moves, down does not (its gradient was 0, no weight decay) ...
        Adapter one = new LoraTrainer(BASE).train(TrainingRequest.bottleneck(TinyTasks.things(), THINGS, HOULSBY, oneStep, null, null, null, Map.of()));
        assertThat(one.provenance().details()).containsEntry("steps", "1").containsEntry("bottleneck-sharing", "SINGLE");
        float[] init0 = init.get(BottleneckSpec.peftKey(0, Position.ATTENTION, Tensor.DOWN_WEIGHT)).data();
        assertThat(data(one, 0, Position.ATTENTION, Tensor.DOWN_WEIGHT)).containsExactly(init0);
        assertThat(maxAbs(data(one, 0, Position.ATTENTION, Tensor.UP_WEIGHT), new float[H * 24])).isGreaterThan(1e-3f);
        // ... and now the down-projection has a gradient (the degenerate-init detector)
        Map<String, float[]> g1 = gradients(HOULSBY, one.weights());
        assertThat(norm(g1, Tensor.DOWN_WEIGHT)).isGreaterThan(1e-6);
        assertThat(norm(g1, Tensor.DOWN_BIAS)).isGreaterThan(1e-6);
        // two steps: both halves have moved
        Adapter two = new LoraTrainer(BASE).train(TrainingRequest.bottleneck(TinyTasks.things(), THINGS, HOULSBY, oneStep.withEpochs(2), null, null, null, Map.of()));
        for (Position p : Position.values()) {
            assertThat(maxAbs(data(two, 2, p, Tensor.DOWN_WEIGHT), init.get(BottleneckSpec.peftKey(2, p, Tensor.DOWN_WEIGHT)).data())).as(p.name()).isGreaterThan(1e-4f);
            assertThat(maxAbs(data(two, 2, p, Tensor.UP_WEIGHT), new float[H * 24])).as(p.name()).isGreaterThan(1e-4f);
        }
    }
}
