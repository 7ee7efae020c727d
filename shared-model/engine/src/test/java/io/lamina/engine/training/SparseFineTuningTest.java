package io.lamina.engine.training;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.sft.SparseDiff;
import io.lamina.engine.adapter.sft.Sft;
import io.lamina.engine.adapter.sft.SftSpec;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * LT-SFT on the real MiniLM weights and a tiny 3-class task (METHODS §11 tests 1, 2 and 5, plus training, the
 * parameter count and the file round trip). One short run (all six linears maskable, 1 + 3 epochs of 2 steps) is
 * shared by the tests.
 */
class SparseFineTuningTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final List<String> THINGS = List.of("animal", "vehicle", "food");
    private static final SftSpec SPEC = SftSpec.defaults().withParamsProportion(0.005).withPhases(1, 3);
    private static final TrainingSpec TRAINING = new TrainingSpec(2, 8, 2e-3f, 0f, 0f, 1.0f, 7L, 32, 0);
    private static SparseFineTuner.Run run;

    private static synchronized SparseFineTuner.Run run() {
        if (run == null) run = new SparseFineTuner(BASE).run(new SparseFineTuner.Request(TinyTasks.things(), THINGS, SPEC, TRAINING));
        return run;
    }

    @Test
    void storesAtMostTheBudgetAndCountsNnzPlusHeadAsTrainable() {
        SparseFineTuner.Run r = run();
        long maskable = SPEC.maskableEntries(BASE.layers(), BASE.hiddenSize(), BASE.intermediateSize());
        assertThat(maskable).isEqualTo(6L * (4 * 384 * 384 + 2 * 384 * 1536));
        assertThat(r.budget()).isEqualTo(Math.round(0.005 * maskable));
        long nnz = Sft.nnz(Sft.diffs(r.adapter()));
        assertThat(nnz).isPositive().isLessThanOrEqualTo(r.budget());
        assertThat(r.adapter().kind()).isEqualTo(AdapterKind.SFT);
        assertThat(r.adapter().trainableParameters()).isEqualTo(nnz + 3L * 384);
        assertThat(r.adapter().provenance().details()).containsEntry("nnz", Long.toString(nnz)).containsEntry("budget", Long.toString(r.budget()))
                .containsEntry("full-ft-steps", "2").containsEntry("sparse-ft-steps", "6");
    }

    @Test
    void unselectedEntriesStayExactlyZeroAndTheDiffLivesOnTheSelection() {
        SparseFineTuner.Run r = run();
        long selected = 0;
        for (Map.Entry<String, HostTensor> e : r.sparseDiffs().entrySet()) {
            boolean[] in = new boolean[e.getValue().data().length];
            for (int i : r.selected().get(e.getKey())) in[i] = true;
            selected += r.selected().get(e.getKey()).length;
            float[] d = e.getValue().data();
            for (int i = 0; i < d.length; i++) {
                if (!in[i]) assertThat(Float.floatToRawIntBits(d[i])).as("%s[%d]", e.getKey(), i).isZero();
            }
        }
        assertThat(selected).isEqualTo(r.budget());
        // φ's support is inside the selection, and W + φ leaves every other entry of W bit for bit
        for (Map.Entry<String, SparseDiff> e : Sft.diffs(r.adapter()).entrySet()) {
            int[] sel = r.selected().get(e.getKey());
            for (int i : e.getValue().indices()) assertThat(Arrays.binarySearch(sel, i)).isNotNegative();
        }
        Map<String, float[]> w = new TreeMap<>();
        String key = Sft.key(2, "intermediate.dense");
        w.put(key, flat(BASE.pretrainedWeight(2, "intermediate.dense")));
        for (int l = 0; l < BASE.layers(); l++) {
            for (String m : SPEC.targetModules()) w.putIfAbsent(Sft.key(l, m), new float[r.sparseDiffs().get(Sft.key(l, m)).data().length]);
        }
        float[] applied = Sft.apply(w, List.of(r.adapter())).get(key);
        int[] support = Sft.diffs(r.adapter()).get(key).indices();
        float[] original = w.get(key);
        for (int i = 0, s = 0; i < original.length; i++) {
            if (s < support.length && support[s] == i) {
                s++;
                continue;
            }
            assertThat(Float.floatToRawIntBits(applied[i])).isEqualTo(Float.floatToRawIntBits(original[i]));
        }
    }

    @Test
    void theSelectionIsExactlyTheTopKOfTheFullPhaseDiffs() {
        SparseFineTuner.Run r = run();
        // full sort of (|Δ|, tensor, position): descending magnitude, ties to the earlier tensor then position
        List<String> keys = new ArrayList<>(r.fullDiffs().keySet());
        assertThat(keys.size()).isLessThan(64);
        long total = 0;
        for (HostTensor t : r.fullDiffs().values()) total += t.data().length;
        // one long per entry, ascending = descending |Δ| (non-negative float bits order like the floats), then tensor, then position
        long[] boxed = new long[(int) total];
        int at = 0;
        for (int k = 0; k < keys.size(); k++) {
            float[] d = r.fullDiffs().get(keys.get(k)).data();
            assertThat(d.length).isLessThanOrEqualTo(1 << 20);
            for (int i = 0; i < d.length; i++) {
                long bits = Float.floatToIntBits(Math.abs(d[i]));
                boxed[at++] = ((0x7FFFFFFFL - bits) << 26) | ((long) k << 20) | i;
            }
        }
        Arrays.sort(boxed);
        SortedMap<String, List<Integer>> expected = new TreeMap<>();
        for (String k : keys) expected.put(k, new ArrayList<>());
        for (int i = 0; i < r.budget(); i++) expected.get(keys.get((int) ((boxed[i] >>> 20) & 63))).add((int) (boxed[i] & 0xFFFFF));
        for (String k : keys) {
            List<Integer> e = expected.get(k);
            e.sort(null);
            assertThat(r.selected().get(k)).as(k).containsExactly(e.stream().mapToInt(Integer::intValue).toArray());
        }
        // the full phase moved every maskable weight, far more entries than the budget
        long moved = 0;
        for (HostTensor t : r.fullDiffs().values()) for (float v : t.data()) if (v != 0f) moved++;
        assertThat(moved).isGreaterThan(10 * r.budget());
    }

    @Test
    void trainingLowersTheLossAndBeatsChance() {
        SparseFineTuner.Run r = run();
        Adapter a = r.adapter();
        List<LabeledText> train = TinyTasks.things();
        float before = headLoss(BASE.embed(train.stream().map(LabeledText::text).toList(), null), a.head().basePrototypes(), train);
        float after = headLoss(BASE.embed(train.stream().map(LabeledText::text).toList(), a), a.head().prototypes(), train);
        assertThat(after).isLessThan(before);
        List<LabeledText> held = TinyTasks.thingsHeldOut();
        float[][] emb = BASE.embed(held.stream().map(LabeledText::text).toList(), a);
        int correct = 0;
        for (int i = 0; i < emb.length; i++) if (a.head().labels().get(argmax(emb[i], a.head().prototypes())).equals(held.get(i).label())) correct++;
        assertThat(correct / (double) emb.length).isGreaterThan(1.0 / 3);
    }

    @Test
    void savedAndLoadedEmbedsIdentically() {
        Adapter a = run().adapter();
        Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(a));
        assertThat(back.kind()).isEqualTo(AdapterKind.SFT);
        assertThat(back.sft()).isEqualTo(a.sft());
        assertThat(back.weights()).isEqualTo(a.weights());
        List<String> texts = List.of("a horse galloping across the field", "a slice of cheese pizza");
        float[][] x = BASE.embed(texts, a), y = BASE.embed(texts, back);
        for (int i = 0; i < x.length; i++) assertThat(y[i]).containsExactly(x[i]);
    }

    @Test
    void aTaskSftTrainedOnAnAppliedSftComposesWithItAndRunsAreDeterministic() {
        Adapter under = run().adapter(); // stands in for a "language" SFT
        List<String> sports = List.of("football", "tennis");
        SftSpec small = SftSpec.defaults().withModules(List.of("value", "output.dense")).withParamsNum(2000).withPhases(1, 1);
        SparseFineTuner.Request req = new SparseFineTuner.Request(TinyTasks.sports(), sports, small, TRAINING, List.of(under), null, null);
        SparseFineTuner tuner = new SparseFineTuner(BASE);
        Adapter task = tuner.train(req);
        assertThat(tuner.train(req).weights()).isEqualTo(task.weights()); // same seed, same diffs bit for bit
        long nnz = Sft.nnz(Sft.diffs(task));
        assertThat(nnz).isPositive().isLessThanOrEqualTo(2000);
        assertThat(task.provenance().details()).containsEntry("trained-on-sfts", "1");
        // serve W + φ_under + φ_task: the composition, in either order, with the task's head
        Adapter composed = Sft.compose(List.of(under, task), task.head());
        Adapter reversed = Sft.compose(List.of(task, under), task.head());
        assertThat(reversed.weights()).isEqualTo(composed.weights());
        assertThat(composed.sft().targetModules()).containsExactlyElementsOf(SPEC.targetModules());
        assertThat(composed.trainableParameters()).isEqualTo(Sft.nnz(Sft.diffs(composed)) + 2L * 384);
        List<LabeledText> data = TinyTasks.sports();
        float[][] emb = BASE.embed(data.stream().map(LabeledText::text).toList(), composed);
        int correct = 0;
        for (int i = 0; i < emb.length; i++) if (sports.get(argmax(emb[i], task.head().prototypes())).equals(data.get(i).label())) correct++;
        assertThat(correct).isGreaterThanOrEqualTo(7);
    }

    @Test
    void refusesAValidationSplit() {
        assertThatThrownBy(() -> new SparseFineTuner.Request(TinyTasks.things(), THINGS, SPEC, TRAINING.withValidation(0.2f, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no validation split");
    }

    static float[] flat(double[][] w) {
        float[] out = new float[w.length * w[0].length];
        for (int i = 0; i < w.length; i++) for (int j = 0; j < w[0].length; j++) out[i * w[0].length + j] = (float) w[i][j];
        return out;
    }

    private static int argmax(float[] e, float[][] protos) {
        int best = 0;
        double bestDot = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < protos.length; c++) {
            double dot = 0;
            for (int j = 0; j < e.length; j++) dot += e[j] * protos[c][j];
            if (dot > bestDot) {
                bestDot = dot;
                best = c;
            }
        }
        return best;
    }

    private static float headLoss(float[][] emb, float[][] protos, List<LabeledText> data) {
        return LoraTrainer.headLoss(emb, protos, data.stream().mapToInt(t -> THINGS.indexOf(t.label())).toArray());
    }
}
