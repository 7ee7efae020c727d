package io.lamina.engine.adapter.sft;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.BertModules;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.io.Safetensors;
import io.lamina.engine.merge.AdapterMerger;
import io.lamina.engine.merge.MergeRecipe;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Sparse diffs without training: composition, apply/revert, serving W + φ, the top-k selection and the file format (METHODS §11 tests 3-5). */
class SftTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final int H = 384, I = 1536;
    private static final List<String> LABELS = List.of("a", "b");
    private static final List<String> TEXTS = List.of("a small boat on the lake", "the striker kicked the ball into the net", "Rain");

    private static PrototypeHead head() {
        float[][] p = new float[2][H];
        p[0][0] = 1f;
        p[1][1] = 1f;
        return new PrototypeHead(LABELS, p, 16f);
    }

    /** An SFT with {@code perTensor} random entries (scale {@code scale}) in every maskable linear of every layer. */
    static Adapter randomSft(List<String> modules, int perTensor, double scale, long seed) {
        SftSpec spec = SftSpec.defaults().withModules(modules);
        Random rnd = new Random(seed);
        SortedMap<String, SparseDiff> diffs = new TreeMap<>();
        for (int l = 0; l < BASE.layers(); l++) {
            for (String m : spec.targetModules()) {
                int rows = BertModules.outFeatures(m, H, I), cols = BertModules.inFeatures(m, H, I);
                int[] idx = rnd.ints(0, rows * cols).distinct().limit(perTensor).sorted().toArray();
                float[] val = new float[idx.length];
                for (int i = 0; i < val.length; i++) val[i] = (float) (scale * rnd.nextGaussian());
                diffs.put(Sft.key(l, m), new SparseDiff(rows, cols, idx, val));
            }
        }
        return Adapter.of(spec, Sft.weights(diffs), head(), BASE.id(), BASE.fingerprint(), new AdapterProvenance(AdapterProvenance.TRAINED, Map.of("seed", "" + seed)));
    }

    @Test
    void compositionIsTheOrderIndependentSumOverTheUnionOfSupports() {
        Adapter a = randomSft(List.of("query", "value"), 500, 0.01, 1);
        Adapter b = randomSft(List.of("value", "intermediate.dense"), 500, 0.01, 2);
        Adapter c = randomSft(List.of("query", "output.dense"), 500, 0.01, 3);
        Adapter abc = Sft.compose(List.of(a, b, c), head());
        Adapter cab = Sft.compose(List.of(c, a, b), head());
        Adapter bca = Sft.compose(List.of(b, c, a), head());
        assertThat(abc.kind()).isEqualTo(AdapterKind.SFT);
        assertThat(cab.weights()).isEqualTo(abc.weights());
        assertThat(bca.weights()).isEqualTo(abc.weights());
        assertThat(abc.sft().targetModules()).containsExactly("query", "value", "intermediate.dense", "output.dense");
        // every entry is the sum of the parts' values there
        SortedMap<String, SparseDiff> sum = Sft.diffs(abc);
        for (String key : List.of(Sft.key(0, "query"), Sft.key(3, "value"))) {
            float[] expected = new float[H * H];
            for (Adapter x : List.of(a, b, c)) {
                SparseDiff d = Sft.diffs(x).get(key);
                if (d != null) d.addInto(expected, 1);
            }
            float[] got = sum.get(key).toDense();
            float worst = 0;
            for (int i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
            assertThat(worst).isLessThan(1e-7f);
        }
        assertThat(Sft.nnz(sum)).isEqualTo(Long.parseLong(abc.provenance().details().get("nnz")));
        // serving the composition equals serving W + φa + φb + φc, whichever order
        assertThat(maxAbsDiff(BASE.embed(TEXTS, abc), BASE.embed(TEXTS, cab))).isZero();
    }

    @Test
    void applyThenRevertRestoresTheWeightsAndLeavesOtherEntriesBitForBit() {
        Adapter a = randomSft(List.of("key", "output.dense"), 2000, 0.05, 4);
        Adapter b = randomSft(List.of("key"), 2000, 0.05, 5);
        Map<String, float[]> w = new TreeMap<>();
        for (int l = 0; l < BASE.layers(); l++) {
            for (String m : List.of("key", "output.dense")) w.put(Sft.key(l, m), flat(BASE.pretrainedWeight(l, m)));
        }
        Map<String, float[]> applied = Sft.apply(w, List.of(a, b));
        Map<String, float[]> appliedOtherOrder = Sft.apply(w, List.of(b, a));
        Map<String, float[]> back = Sft.revert(applied, List.of(b, a));
        SortedMap<String, SparseDiff> da = Sft.diffs(a), db = Sft.diffs(b);
        float worst = 0;
        int changedOffSupport = 0, touchedCount = 0;
        for (String k : w.keySet()) {
            assertThat(Arrays.equals(appliedOtherOrder.get(k), applied.get(k))).as(k).isTrue();
            float[] orig = w.get(k), r = back.get(k), ap = applied.get(k);
            boolean[] touched = new boolean[orig.length];
            for (SparseDiff d : new SparseDiff[]{da.get(k), db.get(k)}) {
                if (d != null) for (int i : d.indices()) touched[i] = true;
            }
            for (int i = 0; i < orig.length; i++) {
                worst = Math.max(worst, Math.abs(r[i] - orig[i]));
                if (touched[i]) touchedCount++;
                else if (Float.floatToRawIntBits(ap[i]) != Float.floatToRawIntBits(orig[i])) changedOffSupport++;
            }
        }
        assertThat(worst).isLessThan(1e-6f);
        assertThat(changedOffSupport).isZero();
        assertThat(touchedCount).isGreaterThan(6 * 2000);
        assertThat(w.get(Sft.key(0, "key"))).containsExactly(flat(BASE.pretrainedWeight(0, "key"))); // inputs untouched
    }

    @Test
    void anAllZeroDiffIsTheBaseModel() {
        SftSpec spec = SftSpec.defaults();
        SortedMap<String, SparseDiff> empty = new TreeMap<>();
        for (int l = 0; l < BASE.layers(); l++) {
            for (String m : spec.targetModules()) empty.put(Sft.key(l, m), SparseDiff.empty(BertModules.outFeatures(m, H, I), BertModules.inFeatures(m, H, I)));
        }
        Adapter zero = Adapter.of(spec, Sft.weights(empty), head(), BASE.id(), BASE.fingerprint(), new AdapterProvenance(AdapterProvenance.TRAINED, Map.of()));
        assertThat(zero.trainableParameters()).isEqualTo(2L * H);
        assertThat(maxAbsDiff(BASE.embed(TEXTS, zero), BASE.embed(TEXTS, null))).isLessThan(1e-6f);
        // explicit zeros on the support too
        Map<String, SparseDiff> zeros = new TreeMap<>(empty);
        zeros.put(Sft.key(1, "query"), new SparseDiff(H, H, new int[]{0, 5, 77}, new float[3]));
        Adapter explicit = Adapter.of(spec, Sft.weights(zeros), head(), BASE.id(), BASE.fingerprint(), new AdapterProvenance(AdapterProvenance.TRAINED, Map.of()));
        assertThat(maxAbsDiff(BASE.embed(TEXTS, explicit), BASE.embed(TEXTS, null))).isLessThan(1e-6f);
    }

    @Test
    void servingWPlusPhiMatchesALoraWithTheSameUpdate() {
        // a rank-1 update u vᵀ on the query (folded attention scale) and the FFN output, as an SFT (dense support) and as LoRA r=1, alpha=1
        Random rnd = new Random(9);
        List<String> targets = List.of("query", "output.dense");
        Map<String, HostTensor> lora = new TreeMap<>();
        SortedMap<String, SparseDiff> diffs = new TreeMap<>();
        SftSpec spec = SftSpec.defaults().withModules(targets);
        for (int l = 0; l < BASE.layers(); l++) {
            for (String m : targets) {
                int rows = BertModules.outFeatures(m, H, I), cols = BertModules.inFeatures(m, H, I);
                float[] u = new float[rows], v = new float[cols];
                for (int i = 0; i < rows; i++) u[i] = (float) (0.05 * rnd.nextGaussian());
                for (int j = 0; j < cols; j++) v[j] = (float) (0.05 * rnd.nextGaussian());
                lora.put(LoraSpec.peftKey(l, m, 'A'), new HostTensor(new long[]{1, cols}, v));
                lora.put(LoraSpec.peftKey(l, m, 'B'), new HostTensor(new long[]{rows, 1}, u));
                float[] dense = new float[rows * cols];
                for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) dense[i * cols + j] = u[i] * v[j];
                diffs.put(Sft.key(l, m), SparseDiff.ofDense(dense, rows, cols, 0f));
            }
        }
        Adapter sft = Adapter.of(spec, Sft.weights(diffs), head(), BASE.id(), BASE.fingerprint(), new AdapterProvenance(AdapterProvenance.TRAINED, Map.of()));
        Adapter asLora = Adapter.lora(new LoraSpec(1, 1f, 0f, targets), lora, head(), BASE.id(), BASE.fingerprint(), new AdapterProvenance(AdapterProvenance.TRAINED, Map.of()));
        float[][] x = BASE.embed(TEXTS, sft), y = BASE.embed(TEXTS, asLora);
        assertThat(maxAbsDiff(x, y)).isLessThan(2e-5f);
        assertThat(maxAbsDiff(x, BASE.embed(TEXTS, null))).isGreaterThan(1e-3f);
    }

    @Test
    void topKPicksTheLargestMagnitudesWithOneGlobalThresholdAndDeterministicTies() {
        Random rnd = new Random(11);
        SortedMap<String, float[]> deltas = new TreeMap<>();
        for (String k : List.of("0/query", "0/value", "1/query")) {
            float[] d = new float[1000];
            for (int i = 0; i < d.length; i++) d[i] = (float) Math.round(rnd.nextGaussian() * 20) / 20f; // many ties
            deltas.put(k, d);
        }
        deltas.get("1/query")[3] = 100f; // one tensor's outlier is picked over everything else
        for (long k : new long[]{0, 1, 7, 250, 1500, 2999, 3000, 5000}) {
            SortedMap<String, int[]> got = Sft.topK(deltas, k);
            // reference: full sort of (|Δ| desc, tensor, position)
            List<long[]> all = new ArrayList<>();
            List<String> keys = new ArrayList<>(deltas.keySet());
            for (int t = 0; t < keys.size(); t++) for (int i = 0; i < 1000; i++) all.add(new long[]{t, i});
            all.sort((p, q) -> {
                int c = Float.compare(Math.abs(deltas.get(keys.get((int) q[0]))[(int) q[1]]), Math.abs(deltas.get(keys.get((int) p[0]))[(int) p[1]]));
                return c != 0 ? c : p[0] != q[0] ? Long.compare(p[0], q[0]) : Long.compare(p[1], q[1]);
            });
            long picked = 0;
            for (int t = 0; t < keys.size(); t++) {
                final int tt = t;
                int[] expected = all.subList(0, (int) Math.min(k, all.size())).stream().filter(p -> p[0] == tt).mapToInt(p -> (int) p[1]).sorted().toArray();
                assertThat(got.get(keys.get(t))).as("k=%d %s", k, keys.get(t)).containsExactly(expected);
                picked += expected.length;
            }
            assertThat(picked).isEqualTo(Math.min(k, 3000));
        }
        assertThat(Sft.topK(deltas, 1).get("1/query")).containsExactly(3);
    }

    @Test
    void savesIndicesAsInt32AndReadsBackTheSameAdapter() {
        Adapter a = randomSft(List.of("value", "intermediate.dense"), 300, 0.02, 6);
        Map<String, byte[]> files = PeftAdapterFormat.toFiles(a);
        String config = new String(files.get(PeftAdapterFormat.CONFIG), StandardCharsets.UTF_8);
        assertThat(config).contains("\"peft_type\" : \"LAMINA_SFT\"").contains("\"ft_params_proportion\" : 0.01");
        String header = new String(files.get(PeftAdapterFormat.WEIGHTS), 8, 400, StandardCharsets.UTF_8);
        assertThat(header).contains("I32");
        assertThatThrownBy(() -> Safetensors.read(files.get(PeftAdapterFormat.WEIGHTS))).hasMessageContaining("unsupported dtype 'I32'");
        Adapter back = PeftAdapterFormat.fromFiles(files);
        assertThat(back.weights()).isEqualTo(a.weights());
        assertThat(back.sft()).isEqualTo(a.sft());
        assertThat(maxAbsDiff(BASE.embed(TEXTS, back), BASE.embed(TEXTS, a))).isZero();
        assertThat(back.trainableParameters()).isEqualTo(6L * 2 * 300 + 2L * H);
    }

    @Test
    void refusesBrokenDiffsWithPreciseMessages() {
        Adapter a = randomSft(List.of("value"), 10, 0.02, 7);
        String idx = SftSpec.peftKey(2, "value", SftSpec.Part.INDICES), val = SftSpec.peftKey(2, "value", SftSpec.Part.VALUES);
        String shape = SftSpec.peftKey(2, "value", SftSpec.Part.SHAPE);
        assertRefused(a, w -> w.put(idx, with(w.get(idx), 9, H * H)), "layer 2 value: index 147456 at element 9 is outside [0, 147456)");
        assertRefused(a, w -> w.put(idx, with(w.get(idx), 9, w.get(idx).data()[8])), "layer 2 value: indices must be strictly increasing, element 9");
        assertRefused(a, w -> w.put(val, with(w.get(val), 4, Float.NaN)), "layer 2 value: value NaN at element 4");
        assertRefused(a, w -> w.remove(val), "missing '" + val + "'");
        assertRefused(a, w -> w.put(idx, new HostTensor(new long[]{9}, Arrays.copyOf(w.get(idx).data(), 9))), "layer 2 value: 9 indices but 10 values");
        assertRefused(a, w -> {
            w.put(shape, new HostTensor(new long[]{2}, new float[]{H, 100}));
            w.put(idx, new HostTensor(new long[]{0}, new float[0]));
            w.put(val, new HostTensor(new long[]{0}, new float[0]));
        }, "layer 2 value has sft_shape [384, 100], expected [384, 384]");
        // a file with float indices (F32, not I32): read, but a fractional position is refused
        assertRefused(a, w -> w.put(idx, with(w.get(idx), 0, 0.5f)), "layer 2 value: index 0.5 at element 0 is not an integer position", k -> false);
        assertRefused(a, w -> w.put(SftSpec.peftKey(1, "query", SftSpec.Part.VALUES), new HostTensor(new long[]{0}, new float[0])),
                "diffs query, which is not among the maskable modules [value]");
        // serving checks shapes against the model too
        Map<String, HostTensor> w = new TreeMap<>(a.weights());
        w.put(shape, new HostTensor(new long[]{2}, new float[]{H, 100}));
        w.put(idx, new HostTensor(new long[]{0}, new float[0]));
        w.put(val, new HostTensor(new long[]{0}, new float[0]));
        Adapter bad = Adapter.of(a.sft(), w, a.head(), a.baseModelId(), a.baseFingerprint(), a.provenance());
        assertThatThrownBy(() -> BASE.embed(TEXTS, bad)).hasMessageContaining("SFT diff of layer 2 value has shape [384, 100], the model's weight [384, 384]");
    }

    @Test
    void mergesRefuseSfts() {
        Adapter a = randomSft(List.of("query"), 10, 0.02, 8), b = randomSft(List.of("query"), 10, 0.02, 9);
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(a, b), MergeRecipe.of(AdapterMerger.TASK_ARITHMETIC, List.of(0.5, 0.5)), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("an SFT adapter's update is a sparse diff").hasMessageContaining("Sft.compose");
        assertThatThrownBy(() -> Sft.compose(List.of(a, BASE_LORA()), head())).hasMessageContaining("adapter 1 is LORA: only SFT adapters compose by addition");
    }

    private static Adapter BASE_LORA() {
        Map<String, HostTensor> w = new TreeMap<>();
        for (int l = 0; l < BASE.layers(); l++) {
            w.put(LoraSpec.peftKey(l, "query", 'A'), HostTensor.zeros(1, H));
            w.put(LoraSpec.peftKey(l, "query", 'B'), HostTensor.zeros(H, 1));
        }
        return Adapter.lora(new LoraSpec(1, 1f, 0f, List.of("query")), w, head(), BASE.id(), BASE.fingerprint(), new AdapterProvenance(AdapterProvenance.TRAINED, Map.of()));
    }

    private static void assertRefused(Adapter a, Consumer<Map<String, HostTensor>> tamper, String message) {
        assertRefused(a, tamper, message, SftSpec::isIntegerKey);
    }

    private static void assertRefused(Adapter a, Consumer<Map<String, HostTensor>> tamper, String message, java.util.function.Predicate<String> int32) {
        Map<String, HostTensor> w = new TreeMap<>(a.weights());
        tamper.accept(w);
        Map<String, byte[]> files = new TreeMap<>(PeftAdapterFormat.toFiles(a));
        files.put(PeftAdapterFormat.WEIGHTS, Safetensors.write(w, Map.of("format", "pt"), int32));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(files)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
    }

    private static HostTensor with(HostTensor t, int i, float v) {
        float[] d = t.data().clone();
        d[i] = v;
        return new HostTensor(t.shape(), d);
    }

    static float[] flat(double[][] w) {
        float[] out = new float[w.length * w[0].length];
        for (int i = 0; i < w.length; i++) for (int j = 0; j < w[0].length; j++) out[i * w[0].length + j] = (float) w[i][j];
        return out;
    }
}
