package io.lamina.engine.adapter.bottleneck;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Architecture;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Placement;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Position;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Tensor;
import io.lamina.engine.io.Safetensors;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.BottleneckArrays;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.CheckpointStore;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** MoSA split &amp; merge for bottleneck adapters (METHODS.md §12, tests 1-6, plus a short real run). */
class MosaTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final List<String> THINGS = List.of("animal", "vehicle", "food");

    @Test
    void masksAreDisjointCoveringBalancedAndSeeded() {
        int n = 4, size = 24 * 384 + 3;
        float[][] m = Mosa.masks(7L, "k", size, n);
        int[] owned = new int[n];
        for (int j = 0; j < size; j++) {
            float sum = 0;
            for (int i = 0; i < n; i++) {
                assertThat(m[i][j]).isIn(0f, 1f);
                sum += m[i][j];
                owned[i] += (int) m[i][j];
            }
            assertThat(sum).as("entry " + j + " has exactly one owner").isEqualTo(1f);
        }
        for (int i = 0; i < n; i++) assertThat(owned[i]).isBetween(size / n, size / n + 1);
        assertThat(Mosa.masks(7L, "k", size, n)).isDeepEqualTo(m);
        assertThat(Mosa.masks(7L, "other", size, n)[0]).isNotEqualTo(m[0]);
    }

    @Test
    void mergeOfExpertsEachMovedOnItsOwnMaskIsInitPlusDeltaOverN() {
        int n = 4, size = 50;
        SplittableRandom r = new SplittableRandom(3);
        float[] init = new float[size], delta = new float[size];
        for (int j = 0; j < size; j++) {
            init[j] = (float) r.nextGaussian();
            delta[j] = (float) r.nextGaussian();
        }
        float[][] m = Mosa.masks(5L, size, n);
        List<HostTensor> experts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] w = init.clone();
            for (int j = 0; j < size; j++) w[j] += delta[j] * m[i][j];
            experts.add(new HostTensor(new long[]{5, 10}, w));
        }
        HostTensor merged = Mosa.merge(experts);
        for (int j = 0; j < size; j++) assertThat(merged.data()[j]).isCloseTo(init[j] + delta[j] / n, within(1e-6f));
        // and through the key-level merge the trainer's adapters use
        Map<String, HostTensor> byKey = new java.util.TreeMap<>();
        for (int i = 0; i < n; i++) byKey.put(Mosa.expertKey(i, "x.up.weight"), experts.get(i));
        byKey.put("x.up.bias", HostTensor.zeros(10));
        Map<String, HostTensor> out = Mosa.merged(byKey);
        assertThat(out).containsOnlyKeys("x.up.weight", "x.up.bias");
        assertThat(out.get("x.up.weight").data()).containsExactly(merged.data());
    }

    @Test
    void averageOverAllExpertChoicesOfTheAdapterOutputIsTheMergedAdaptersOutput() {
        int n = 4, d = 12, b = 3, rows = 5;
        SplittableRandom r = new SplittableRandom(11);
        try (NDManager mgr = NDManager.newBaseManager()) {
            NDArray h = mgr.create(gaussian(r, rows * d), new Shape(rows, d));
            NDArray down = mgr.create(gaussian(r, b * d), new Shape(b, d));
            NDArray downB = mgr.create(gaussian(r, b), new Shape(b));
            NDArray upB = mgr.create(gaussian(r, d), new Shape(d));
            List<HostTensor> ups = new ArrayList<>();
            NDArray sum = mgr.zeros(new Shape(rows, d));
            for (int i = 0; i < n; i++) {
                HostTensor up = new HostTensor(new long[]{d, b}, gaussian(r, d * b));
                ups.add(up);
                sum = sum.add(BottleneckLayer.forward(h, down, downB, mgr.create(up.data(), new Shape(d, b)), upB));
            }
            float[] expectation = sum.div(n).toFloatArray();
            HostTensor merged = Mosa.merge(ups);
            float[] mergedOut = BottleneckLayer.forward(h, down, downB, mgr.create(merged.data(), new Shape(d, b)), upB).toFloatArray();
            for (int j = 0; j < expectation.length; j++) assertThat(mergedOut[j]).isCloseTo(expectation[j], within(1e-5f));
        }
    }

    @Test
    void symmetricKlIsZeroForEqualLogitsAndPositiveOtherwise() {
        try (NDManager mgr = NDManager.newBaseManager()) {
            NDArray a = mgr.create(new float[]{1f, 2f, 3f, -1f, 0f, 4f}, new Shape(2, 3));
            assertThat(Mosa.symmetricKl(mgr, a, a.duplicate()).getFloat()).isCloseTo(0f, within(1e-7f));
            NDArray c = mgr.create(new float[]{3f, 2f, 1f, -1f, 0f, 4f}, new Shape(2, 3));
            assertThat(Mosa.symmetricKl(mgr, a, c).getFloat()).isGreaterThan(0.1f);
        }
    }

    @Test
    void expertChoiceIsDeterministicAndUsesEveryExpert() {
        int[] seen = new int[4];
        for (int step = 0; step < 200; step++) {
            int k = Mosa.expert(1L, step, 0, 0, 2, 1, 4);
            assertThat(Mosa.expert(1L, step, 0, 0, 2, 1, 4)).isEqualTo(k);
            seen[k]++;
        }
        for (int c : seen) assertThat(c).isBetween(25, 75);
    }

    /** The trainer masks gradients in place: what getGradient returns is the parameter's gradient buffer. */
    @Test
    void maskingTheReturnedGradientMasksTheParametersGradient() {
        try (NDManager mgr = NDManager.newBaseManager()) {
            NDArray x = mgr.create(new float[]{1f, 2f, 3f, 4f});
            x.setRequiresGradient(true);
            try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
                c.backward(x.mul(x).sum());
            }
            boolean grad = Autograd.disable();
            try {
                x.getGradient().muli(mgr.create(new float[]{1f, 0f, 1f, 0f}));
                assertThat(x.getGradient().toFloatArray()).containsExactly(2f, 0f, 6f, 0f);
            } finally {
                Autograd.restore(grad);
            }
        }
    }

    @Test
    void zeroUpProjectionGivesTheBaseModelWhicheverExpertIsSampled() {
        BottleneckSpec spec = new BottleneckSpec(Architecture.HOULSBY, Placement.SEQUENTIAL, 16);
        Map<String, HostTensor> init = BottleneckInit.initialWeights(spec, BASE.layers(), BASE.hiddenSize(), 9L);
        List<long[]> ids = BASE.tokenize(List.of("a small furry pet", "a heavy truck on the highway"), 32);
        boolean grad = Autograd.disable();
        try (NDManager mgr = BASE.manager().newSubManager()) {
            NDArray[][][] t = new NDArray[BASE.layers()][spec.adaptersPerLayer()][4];
            for (int l = 0; l < BASE.layers(); l++) {
                for (int q = 0; q < spec.adaptersPerLayer(); q++) {
                    for (Tensor k : Tensor.values()) {
                        HostTensor h = init.get(BottleneckSpec.peftKey(l, spec.positions().get(q), k));
                        t[l][q][k.ordinal()] = mgr.create(h.data(), new Shape(h.shape()));
                    }
                }
            }
            float[] adapted = BASE.encode(mgr, ids, null, null, new BottleneckArrays(spec, t), false).toFloatArray();
            float[] base = BASE.encode(mgr, ids, null, false).toFloatArray();
            for (int j = 0; j < base.length; j++) assertThat(adapted[j]).isCloseTo(base[j], within(1e-6f));
        } finally {
            Autograd.restore(grad);
        }
    }

    /** Keeps every checkpoint the run saves (the trainer clears its store at the end; this one remembers). */
    private static final class LastCheckpoint implements CheckpointStore {
        byte[] last;

        @Override
        public Optional<byte[]> load() { return Optional.empty(); }

        @Override
        public void save(byte[] checkpoint) { last = checkpoint; }

        @Override
        public void clear() { }
    }

    @Test
    void shortRunTrainsExpertsOnlyInsideTheirMasksAndReturnsAnOrdinaryMergedAdapter() {
        BottleneckSpec spec = new BottleneckSpec(Architecture.PFEIFFER, Placement.SEQUENTIAL, 16);
        // 15 examples, batch 8: 2 steps per epoch, 4 epochs; weight decay on, to check it stays off not-owned entries
        TrainingSpec ts = new TrainingSpec(4, 8, 1e-2f, 0.1f, 0f, 1f, 5L, 32, 1);
        List<Float> losses = new ArrayList<>();
        LastCheckpoint store = new LastCheckpoint();
        Adapter a = new LoraTrainer(BASE).train(TrainingRequest.bottleneck(TinyTasks.things(), THINGS, spec, ts, null,
                p -> losses.add(p.loss()), store, Map.of()), new MosaSettings(4, 1f));

        assertThat(a.kind()).isEqualTo(AdapterKind.BOTTLENECK);
        assertThat(a.weights().keySet()).isEqualTo(spec.expectedShapes(BASE.layers(), BASE.hiddenSize()).keySet());
        assertThat(a.provenance().details()).containsEntry("mosa-experts", "4").containsEntry("mosa-consistency-weight", "1.0")
                .containsEntry("mosa-seed", "5").containsEntry("mosa-merge", "mean");
        assertThat(losses).hasSize(8);
        assertThat((losses.get(6) + losses.get(7)) / 2).isLessThan((losses.get(0) + losses.get(1)) / 2);

        // the checkpoint after step 7: every expert differs from the (zero) init only inside its own mask, and moved there
        Map<String, HostTensor> ckpt = Safetensors.read(store.last).tensors();
        for (int l = 0; l < BASE.layers(); l++) {
            String key = BottleneckSpec.peftKey(l, Position.FFN, Tensor.UP_WEIGHT);
            assertThat(ckpt).doesNotContainKey(key);
            int size = 384 * spec.width(384);
            float[][] masks = Mosa.masks(5L, key, size, 4);
            for (int i = 0; i < 4; i++) {
                float[] w = ckpt.get(Mosa.expertKey(i, key)).data();
                int movedInside = 0;
                for (int j = 0; j < size; j++) {
                    if (masks[i][j] == 0f) assertThat(w[j]).as("expert %d entry %d outside its mask", i, j).isEqualTo(0f);
                    else if (w[j] != 0f) movedInside++;
                }
                assertThat(movedInside).as("expert " + i + " of layer " + l + " trained").isPositive();
            }
        }
        // the saved adapter is the plain bottleneck of the merged experts: its embeddings are the base's when it is zero, else not
        float[][] adapted = BASE.embed(List.of("a horse galloping"), a);
        float[][] base = BASE.embed(List.of("a horse galloping"), null);
        assertThat(adapted[0]).isNotEqualTo(base[0]);
    }

    @Test
    void mosaIsRefusedForOtherAdapterTypes() {
        TrainingSpec ts = new TrainingSpec(1, 8, 1e-3f, 0f, 0f, 1f, 1L, 32, 0);
        List<LabeledText> data = TinyTasks.things();
        assertThatThrownBy(() -> new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS,
                io.lamina.engine.adapter.lora.LoraSpec.defaults(), ts, null, null, null, Map.of()), MosaSettings.defaults()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bottleneck");
        assertThatThrownBy(() -> new MosaSettings(1, 0f)).isInstanceOf(IllegalArgumentException.class);
    }

    private static float[] gaussian(SplittableRandom r, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) r.nextGaussian();
        return out;
    }
}
