package io.lamina.engine.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraInit;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.LoraArrays;
import io.lamina.engine.routing.AdapterRouter;
import io.lamina.engine.routing.RoutedPrediction;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class LoraTrainerTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final List<String> THINGS = List.of("animal", "vehicle", "food");

    private static TrainingSpec tiny(int epochs, int batch, float lr, int checkpointEvery) {
        return new TrainingSpec(epochs, batch, lr, 0.01f, 0.1f, 1.0f, 1234L, 32, checkpointEvery);
    }

    private static List<String> texts(List<LabeledText> data) {
        return data.stream().map(LabeledText::text).toList();
    }


    private static Adapter adapter(LoraSpec spec, Map<String, HostTensor> w) {
        PrototypeHead head = new PrototypeHead(List.of("x"), new float[][]{new float[384]}, 16f);
        return Adapter.lora(spec, w, head, BASE.id(), BASE.fingerprint(), new AdapterProvenance("test", Map.of()));
    }

    @Test
    void loraWithZeroBEqualsBase() {
        LoraSpec spec = new LoraSpec(8, 16f, 0.1f, List.of("query", "key", "value"));
        Map<String, HostTensor> init = LoraInit.initialWeights(spec, BASE.layers(), BASE.hiddenSize(), 3);
        List<String> texts = texts(TinyTasks.things());
        float[][] base = BASE.embed(texts, null);
        // merged path (inference)
        assertThat(maxAbsDiff(BASE.embed(texts, adapter(spec, init)), base)).isLessThanOrEqualTo(1e-6f);
        // unmerged path (training forward, dropout off)
        float[][] unmerged = encodeUnmerged(spec, init, texts);
        assertThat(maxAbsDiff(unmerged, base)).isLessThanOrEqualTo(1e-6f);
    }

    @Test
    void mergedAndUnmergedLoraAgreeAndChangeTheModel() {
        LoraSpec spec = new LoraSpec(4, 8f, 0f, List.of("query", "value"));
        Map<String, HostTensor> w = new TreeMap<>(LoraInit.initialWeights(spec, BASE.layers(), BASE.hiddenSize(), 5));
        Random random = new Random(9);
        for (Map.Entry<String, HostTensor> e : w.entrySet()) {
            if (e.getKey().contains("lora_B")) {
                float[] d = new float[e.getValue().data().length];
                for (int i = 0; i < d.length; i++) d[i] = (float) random.nextGaussian() * 0.05f;
                e.setValue(new HostTensor(e.getValue().shape(), d));
            }
        }
        List<String> texts = texts(TinyTasks.things()).subList(0, 6);
        float[][] merged = BASE.embed(texts, adapter(spec, w));
        float[][] unmerged = encodeUnmerged(spec, w, texts);
        assertThat(maxAbsDiff(merged, unmerged)).isLessThan(1e-4f);
        assertThat(maxAbsDiff(merged, BASE.embed(texts, null))).isGreaterThan(1e-3f);
    }

    private static float[][] encodeUnmerged(LoraSpec spec, Map<String, HostTensor> w, List<String> texts) {
        try (NDManager m = BASE.manager().newSubManager()) {
            int t = spec.targetModules().size();
            NDArray[][] a = new NDArray[BASE.layers()][t];
            NDArray[][] b = new NDArray[BASE.layers()][t];
            for (int l = 0; l < BASE.layers(); l++) {
                for (int i = 0; i < t; i++) {
                    HostTensor ha = w.get(LoraSpec.peftKey(l, spec.targetModules().get(i), 'A'));
                    HostTensor hb = w.get(LoraSpec.peftKey(l, spec.targetModules().get(i), 'B'));
                    a[l][i] = m.create(ha.data(), new Shape(ha.shape()));
                    b[l][i] = m.create(hb.data(), new Shape(hb.shape()));
                }
            }
            float[] flat = BASE.encode(m, BASE.tokenize(texts, 128), new LoraArrays(spec, a, b), false).toFloatArray();
            float[][] out = new float[texts.size()][BASE.hiddenSize()];
            for (int i = 0; i < out.length; i++) System.arraycopy(flat, i * BASE.hiddenSize(), out[i], 0, BASE.hiddenSize());
            return out;
        }
    }

    @Test
    void aTrajectoryKeepsEvenlySpacedSnapshotsOfTheSecondHalfEndingWithTheResult() {
        List<LabeledText> data = TinyTasks.things();
        TrainingSpec spec = tiny(4, 4, 1e-3f, 0);
        int total = 4 * ((data.size() + 3) / 4);
        Trajectory trajectory = Trajectory.keep(3);
        Adapter adapter = new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, LoraSpec.defaults(), spec, null,
                null, null, Map.of(), null, null, trajectory));
        List<Trajectory.Snapshot> snapshots = trajectory.snapshots();
        int half = total / 2;
        assertThat(snapshots).extracting(Trajectory.Snapshot::step).containsExactly(
                half + Math.round((total - half) / 3f), half + Math.round(2 * (total - half) / 3f), total);
        assertThat(snapshots.get(2).weights()).isEqualTo(adapter.weights());
        assertThat(snapshots.get(0).weights()).isNotEqualTo(adapter.weights());
        List<Trajectory.Snapshot> loaded = Trajectory.fromSafetensors(Trajectory.toSafetensors(snapshots));
        assertThat(loaded).extracting(Trajectory.Snapshot::step).containsExactlyElementsOf(snapshots.stream().map(Trajectory.Snapshot::step).toList());
        for (int i = 0; i < 3; i++) assertThat(loaded.get(i).weights()).isEqualTo(snapshots.get(i).weights());
    }

    @Test
    void oneOptimiserStepChangesTheEmbeddings() {
        List<LabeledText> data = TinyTasks.things();
        TrainingSpec spec = tiny(1, data.size(), 1e-3f, 0);
        List<TrainingProgress> seen = new ArrayList<>();
        Adapter adapter = new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, LoraSpec.defaults(), spec, null,
                seen::add, null, Map.of()));
        assertThat(seen).hasSize(1);
        assertThat(seen.get(0).step()).isEqualTo(1);
        assertThat(seen.get(0).totalSteps()).isEqualTo(1);
        float[][] base = BASE.embed(texts(data), null);
        float[][] adapted = BASE.embed(texts(data), adapter);
        assertThat(maxAbsDiff(adapted, base)).isGreaterThan(1e-5f);
        HostTensor b = adapter.weights().get(LoraSpec.peftKey(0, "value", 'B'));
        float maxB = 0;
        for (float v : b.data()) maxB = Math.max(maxB, Math.abs(v));
        assertThat(maxB).isGreaterThan(0f).isLessThan(2e-3f); // one Adam step moves each weight by about lr
    }

    @Test
    void trainingReducesLossAndClassifies() {
        List<LabeledText> data = TinyTasks.things();
        List<Float> losses = new ArrayList<>();
        TrainingSpec spec = tiny(3, 5, 3e-3f, 0);
        Adapter adapter = new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, LoraSpec.defaults(), spec, null,
                p -> losses.add(p.loss()), null, Map.of("dataset-sha256", "abc")));
        assertThat(losses).hasSize(9);
        float lastEpoch = (losses.get(6) + losses.get(7) + losses.get(8)) / 3;
        float firstEpoch = (losses.get(0) + losses.get(1) + losses.get(2)) / 3;
        assertThat(lastEpoch).isLessThan(firstEpoch);

        assertThat(adapter.kind()).isEqualTo(AdapterKind.LORA);
        assertThat(adapter.baseModelId()).isEqualTo(BASE.id());
        assertThat(adapter.baseFingerprint()).isEqualTo(BASE.fingerprint());
        assertThat(adapter.weights()).hasSize(6 * 2 * 2).containsKey(LoraSpec.peftKey(5, "query", 'A'));
        assertThat(adapter.head().labels()).isEqualTo(THINGS);
        assertThat(adapter.head().scale()).isEqualTo(LoraTrainer.HEAD_SCALE);
        for (float[] p : adapter.head().prototypes()) {
            double sq = 0;
            for (float v : p) sq += v * v;
            assertThat(sq).isCloseTo(1.0, within(1e-4));
        }
        AdapterProvenance prov = adapter.provenance();
        assertThat(prov.method()).isEqualTo(AdapterProvenance.TRAINED);
        assertThat(prov.details()).containsEntry("seed", "1234").containsEntry("steps", "9").containsEntry("epochs", "3")
                .containsEntry("train-examples", "15").containsEntry("device", BASE.device())
                .containsEntry("dataset-sha256", "abc").containsKeys("final-loss", "lr");
        assertThat(Float.parseFloat(prov.details().get("final-loss"))).isCloseTo(lastEpoch, within(1e-5f));

        List<LabeledText> heldOut = TinyTasks.thingsHeldOut();
        List<RoutedPrediction> predictions = new AdapterRouter(BASE).predict(texts(heldOut), List.of(adapter));
        int correct = 0;
        for (int i = 0; i < heldOut.size(); i++) {
            if (predictions.get(i).label().equals(heldOut.get(i).label())) correct++;
            assertThat(predictions.get(i).adapterIndex()).isZero();
        }
        assertThat(correct).isGreaterThanOrEqualTo(5); // chance is 2 of 6
    }

    @Test
    void resumedRunMatchesUninterruptedRun() {
        List<LabeledText> data = TinyTasks.things();
        TrainingSpec spec = tiny(2, 4, 3e-3f, 2); // 4 steps per epoch, 8 in all, checkpoints at 2, 4, 6
        LoraSpec lora = LoraSpec.defaults();     // dropout 0.1: resume must reproduce the masks too

        Adapter uninterrupted = new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, lora, spec, null, null, null, Map.of()));

        MemoryStore store = new MemoryStore();
        assertThatThrownBy(() -> new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, lora, spec, null, p -> {
            if (p.step() == 5) throw new IllegalStateException("worker killed");
        }, store, Map.of()))).hasMessage("worker killed");
        assertThat(store.saved).isNotNull();

        List<Integer> resumedSteps = new ArrayList<>();
        Adapter resumed = new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, lora, spec, null,
                p -> resumedSteps.add(p.step()), store, Map.of()));
        assertThat(resumedSteps).containsExactly(5, 6, 7, 8);
        assertThat(store.saved).isNull(); // cleared on success

        assertThat(resumed.weights().keySet()).isEqualTo(uninterrupted.weights().keySet());
        float maxDiff = 0;
        for (String key : uninterrupted.weights().keySet()) {
            float[] x = uninterrupted.weights().get(key).data();
            float[] y = resumed.weights().get(key).data();
            for (int i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
        }
        assertThat(maxDiff).isLessThan(1e-5f);
        float[][] hx = uninterrupted.head().prototypes();
        float[][] hy = resumed.head().prototypes();
        for (int c = 0; c < hx.length; c++) {
            for (int j = 0; j < hx[c].length; j++) assertThat(hy[c][j]).isCloseTo(hx[c][j], within(1e-5f));
        }
        assertThat(resumed.provenance().details().get("final-loss")).isEqualTo(uninterrupted.provenance().details().get("final-loss"));
    }

    @Test
    void checkpointOfAnotherRunIsIgnored() {
        List<LabeledText> data = TinyTasks.things();
        MemoryStore store = new MemoryStore();
        TrainingSpec spec = tiny(1, 4, 3e-3f, 1);
        assertThatThrownBy(() -> new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, LoraSpec.defaults(), spec, null, p -> {
            if (p.step() == 2) throw new IllegalStateException("stop");
        }, store, Map.of()))).hasMessage("stop");
        List<Integer> steps = new ArrayList<>();
        new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, LoraSpec.defaults(), spec.withSeed(99), null,
                p -> steps.add(p.step()), store, Map.of()));
        assertThat(steps.get(0)).isEqualTo(1);
    }

    @Test
    void epochBatchesCoverEveryExampleOnceAndDependOnSeedAndEpoch() {
        List<long[]> ids = new ArrayList<>();
        Random r = new Random(1);
        for (int i = 0; i < 103; i++) ids.add(new long[3 + r.nextInt(40)]);
        int[][] batches = LoraTrainer.epochBatches(ids, 42, 0, 8);
        assertThat(batches).hasNumberOfRows(13);
        Set<Integer> seen = new HashSet<>();
        for (int[] b : batches) for (int i : b) assertThat(seen.add(i)).isTrue();
        assertThat(seen).hasSize(103);
        assertThat(LoraTrainer.epochBatches(ids, 42, 0, 8)).isDeepEqualTo(batches);
        assertThat(java.util.Arrays.deepEquals(LoraTrainer.epochBatches(ids, 42, 1, 8), batches)).isFalse();
        assertThat(java.util.Arrays.deepEquals(LoraTrainer.epochBatches(ids, 43, 0, 8), batches)).isFalse();
    }

    @Test
    void warmStartUsesMatchingFactors() {
        LoraSpec spec = LoraSpec.defaults();
        Map<String, HostTensor> w = new HashMap<>(LoraInit.initialWeights(spec, BASE.layers(), BASE.hiddenSize(), 77));
        List<LabeledText> data = TinyTasks.things();
        TrainingSpec training = tiny(1, data.size(), 1e-3f, 0);
        Adapter fromWarm = new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, spec, training, adapter(spec, w), null, null, Map.of()));
        // one step moves A by at most ~lr from the warm start, far less than the gap to the seed-1234 init
        HostTensor a0 = fromWarm.weights().get(LoraSpec.peftKey(0, "query", 'A'));
        HostTensor warm = w.get(LoraSpec.peftKey(0, "query", 'A'));
        for (int i = 0; i < a0.data().length; i++) assertThat(a0.data()[i]).isCloseTo(warm.data()[i], within(2e-3f));
    }

    @Test
    void anchorMomentumOnePinsTheFactorsToTheAnchorAndZeroIsANoOp() {
        LoraSpec spec = LoraSpec.defaults();
        Map<String, HostTensor> anchor = LoraInit.initialWeights(spec, BASE.layers(), BASE.hiddenSize(), 99);
        List<LabeledText> data = TinyTasks.things();
        TrainingSpec training = tiny(1, 4, 3e-3f, 0);
        Adapter pinned = new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, spec, training, null, null, null, Map.of(),
                new ParameterAnchor(anchor, 1f)));
        assertThat(pinned.weights()).isEqualTo(new java.util.TreeMap<>(anchor));
        assertThat(pinned.provenance().details()).containsEntry("anchor-momentum", "1.0");
        Adapter free = new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, spec, training, null, null, null, Map.of()));
        Adapter zero = new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, spec, training, null, null, null, Map.of(),
                new ParameterAnchor(anchor, 0f)));
        assertThat(zero.weights()).isEqualTo(free.weights());
    }

    @Test
    void trainedAdapterCarriesBaseClassMeansAndItsTaskDescriptor() {
        List<LabeledText> data = TinyTasks.things();
        Adapter a = new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, LoraSpec.defaults(), tiny(1, 4, 3e-3f, 0), null, null, null, Map.of()));
        float[][] base = BASE.embed(texts(data), null, 32);
        for (int c = 0; c < THINGS.size(); c++) {
            float[] mean = new float[BASE.hiddenSize()];
            for (int i = 0; i < data.size(); i++) {
                if (!data.get(i).label().equals(THINGS.get(c))) continue;
                for (int j = 0; j < mean.length; j++) mean[j] += base[i][j];
            }
            float[] expected = new HostTensor(new long[]{1, mean.length}, mean).normalisedRows()[0];
            for (int j = 0; j < mean.length; j++) assertThat(a.head().basePrototypes()[c][j]).isCloseTo(expected[j], within(1e-5f));
        }
        assertThat(a.descriptor()).isNotNull();
        // its own texts are in distribution
        assertThat(a.descriptor().zScore(java.util.Arrays.asList(base))).isLessThan(2.0);
    }

    @Test
    void rsLoraScalesByTheSquareRootOfTheRankAndSurvivesItsFile() {
        LoraSpec rs = new LoraSpec(4, 8f, 0f, List.of("query", "value"), true);
        LoraSpec plain = new LoraSpec(4, 16f, 0f, List.of("query", "value"));       // alpha/r = 8/sqrt(4)
        Map<String, HostTensor> w = new HashMap<>(LoraInit.initialWeights(rs, BASE.layers(), BASE.hiddenSize(), 5));
        Random rnd = new Random(2);
        for (Map.Entry<String, HostTensor> e : w.entrySet()) {
            if (!e.getKey().endsWith("lora_B.weight")) continue;
            float[] d = new float[e.getValue().data().length];
            for (int i = 0; i < d.length; i++) d[i] = (float) (0.02 * rnd.nextGaussian());
            e.setValue(new HostTensor(e.getValue().shape(), d));
        }
        Adapter withRs = adapter(rs, w);
        float[][] a = BASE.embed(List.of("a small boat on the lake"), withRs);
        float[][] b = BASE.embed(List.of("a small boat on the lake"), adapter(plain, w));
        assertThat(maxAbsDiff(a, b)).isLessThan(1e-6f);
        Adapter back = io.lamina.engine.io.PeftAdapterFormat.fromZip(io.lamina.engine.io.PeftAdapterFormat.toZip(withRs));
        assertThat(back.spec().rslora()).isTrue();
        assertThat(maxAbsDiff(BASE.embed(List.of("a small boat on the lake"), back), a)).isZero();
    }

    static final class MemoryStore implements CheckpointStore {
        byte[] saved;

        @Override
        public Optional<byte[]> load() { return Optional.ofNullable(saved); }

        @Override
        public void save(byte[] checkpoint) { saved = checkpoint.clone(); }

        @Override
        public void clear() { saved = null; }
    }
}
