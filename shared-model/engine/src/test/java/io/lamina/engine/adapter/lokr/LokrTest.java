package io.lamina.engine.adapter.lokr;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.data.WordNetSupersenses;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.io.Safetensors;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** LoKr (PEFT {@code LOKR}) on the real MiniLM weights: geometry, forward, init, training, files. */
class LokrTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final int H = 384, I = 1536;
    private static final List<String> TEXTS = List.of("a small boat on the lake", "the striker kicked the ball into the net",
            "bake the muffins in a hot oven until golden", "Rain");
    private static final List<String> CLASSES = List.of("noun.animal", "noun.food", "noun.plant");

    private static Adapter adapter(LokrSpec spec, Map<String, HostTensor> w) {
        float[][] protos = new float[CLASSES.size()][H];
        for (int c = 0; c < protos.length; c++) protos[c][c] = 1f;
        return Adapter.of(spec, w, new PrototypeHead(CLASSES, protos, 16f), BASE.id(), BASE.fingerprint(),
                new AdapterProvenance(AdapterProvenance.TRAINED, Map.of("seed", "1")));
    }

    /** Every tensor random, as after training (w1 no longer zero). */
    private static Map<String, HostTensor> random(LokrSpec spec, long seed) {
        Random rnd = new Random(seed);
        Map<String, HostTensor> w = new TreeMap<>();
        for (Map.Entry<String, HostTensor> e : LokrInit.initialWeights(spec, BASE.layers(), H, I, seed).entrySet()) {
            float[] d = new float[e.getValue().data().length];
            for (int i = 0; i < d.length; i++) d[i] = (float) (0.2 * rnd.nextGaussian());
            w.put(e.getKey(), new HostTensor(e.getValue().shape(), d));
        }
        return w;
    }

    @Test
    void geometryFollowsPeftsRules() {
        LokrSpec spec = LokrSpec.of(List.of("query", "intermediate.dense", "output.dense"));
        LokrSpec.Factors q = spec.factors("query", H, I);
        assertThat(q).isEqualTo(new LokrSpec.Factors(16, 24, 16, 24, true, false));  // r=8 < 24/2: w2 decomposed
        assertThat(spec.shapes("query", H, I)).containsOnlyKeys("lokr_w1", "lokr_w2_a", "lokr_w2_b");
        assertThat(spec.shapes("query", H, I).get("lokr_w2_a")).containsExactly(24, 8);
        assertThat(spec.shapes("intermediate.dense", H, I).get("lokr_w1")).containsExactly(32, 16);   // out 1536 = 32·48, in 384 = 16·24
        assertThat(spec.shapes("output.dense", H, I).get("lokr_w2_b")).containsExactly(8, 48);
        // r >= max(b, d)/2: w2 whole; decompose_both with r < max(a, c)/2: w1 as two halves
        LokrSpec wide = new LokrSpec(List.of("key"), 12, 12, false, -1);
        assertThat(wide.shapes("key", H, I)).containsOnlyKeys("lokr_w1", "lokr_w2");
        LokrSpec both = new LokrSpec(List.of("key"), 4, 4, true, -1);
        assertThat(both.shapes("key", H, I)).containsOnlyKeys("lokr_w1_a", "lokr_w1_b", "lokr_w2_a", "lokr_w2_b");
        assertThat(spec.scaling()).isEqualTo(1f);
        assertThat(LokrSpec.peftKey(2, "query", "lokr_w1")).isEqualTo("base_model.model.encoder.layer.2.attention.self.query.lokr_w1");
        assertThatThrownBy(() -> new LokrSpec(List.of("dense"), 8, 8, false, -1)).hasMessageContaining("unsupported LoKr target module 'dense'");
        assertThatThrownBy(() -> new LokrSpec(List.of("key"), 0, 8, false, -1)).hasMessageContaining("rank must be positive");
    }

    @Test
    void efficientForwardEqualsTheDenseKroneckerMatmul() {
        Random r = new Random(5);
        int k = 2, a = 3, c = 4, b = 5, d = 2, n = 7;
        double[][][] as = new double[k][a][c], bs = new double[k][b][d];
        float[] af = new float[k * a * c], bf = new float[k * b * d], xf = new float[n * c * d];
        for (int t = 0; t < k; t++) {
            for (int i = 0; i < a; i++) for (int j = 0; j < c; j++) af[(t * a + i) * c + j] = (float) (as[t][i][j] = r.nextGaussian());
            for (int i = 0; i < b; i++) for (int j = 0; j < d; j++) bf[(t * b + i) * d + j] = (float) (bs[t][i][j] = r.nextGaussian());
        }
        for (int i = 0; i < xf.length; i++) xf[i] = (float) r.nextGaussian();
        double[][] dense = new double[a * b][c * d];
        for (int t = 0; t < k; t++) {
            double[][] kr = LokrLayer.kron(as[t], bs[t]);
            for (int i = 0; i < a * b; i++) for (int j = 0; j < c * d; j++) dense[i][j] += kr[i][j];
        }
        float[] got;
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray y = LokrLayer.delta(m.create(xf, new Shape(n, c * d)), m.create(af, new Shape(k, a, c)), m.create(bf, new Shape(k, b, d)));
            assertThat(y.getShape()).isEqualTo(new Shape(n, a * b));
            got = y.toFloatArray();
        }
        for (int row = 0; row < n; row++) {
            for (int i = 0; i < a * b; i++) {
                double want = 0;
                for (int j = 0; j < c * d; j++) want += dense[i][j] * xf[row * c * d + j];
                assertThat((double) got[row * a * b + i]).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-4));
            }
        }
    }

    @Test
    void peftInitGivesTheBaseModelAndTrainedFactorsDoNot() {
        LokrSpec spec = new LokrSpec(io.lamina.engine.adapter.BertModules.MODULES, 4, 8, true, -1);
        Map<String, HostTensor> init = LokrInit.initialWeights(spec, BASE.layers(), H, I, 3);
        for (int l = 0; l < BASE.layers(); l++) {
            for (float x : init.get(LokrSpec.peftKey(l, "value", "lokr_w1_a")).data()) assertThat(x).isZero();  // PEFT: zeros_(w1 / w1_a)
        }
        float[][] base = BASE.embed(TEXTS, null);
        assertThat(maxAbsDiff(BASE.embed(TEXTS, adapter(spec, init)), base)).isLessThanOrEqualTo(1e-6f);
        assertThat(maxAbsDiff(BASE.embed(TEXTS, adapter(spec, random(spec, 4))), base)).isGreaterThan(1e-3f);
    }

    @Test
    void onTheQueryItEqualsTheSameUpdateWrittenAsALora() {
        // kron(w1_a w1_b, w2_a w2_b) = (w1_a ⊗ w2_a)(w1_b ⊗ w2_b): a rank-16 LoRA with B = s·(w1_a ⊗ w2_a), A = w1_b ⊗ w2_b.
        // Equal embeddings check the reshape-trick forward, the scale and the query's folded attention scale together.
        LokrSpec spec = new LokrSpec(List.of("query"), 4, 6, true, -1);
        Map<String, HostTensor> w = random(spec, 9);
        io.lamina.engine.adapter.lora.LoraSpec lora = new io.lamina.engine.adapter.lora.LoraSpec(16, 16, 0f, List.of("query"));
        Map<String, HostTensor> factors = new TreeMap<>();
        for (int l = 0; l < BASE.layers(); l++) {
            double[][] b = LokrLayer.kron(rows(w.get(LokrSpec.peftKey(l, "query", "lokr_w1_a"))), rows(w.get(LokrSpec.peftKey(l, "query", "lokr_w2_a"))));
            double[][] a = LokrLayer.kron(rows(w.get(LokrSpec.peftKey(l, "query", "lokr_w1_b"))), rows(w.get(LokrSpec.peftKey(l, "query", "lokr_w2_b"))));
            factors.put(io.lamina.engine.adapter.lora.LoraSpec.peftKey(l, "query", 'A'), flat(a, 1.0));
            factors.put(io.lamina.engine.adapter.lora.LoraSpec.peftKey(l, "query", 'B'), flat(b, spec.scaling()));
        }
        float[][] viaLokr = BASE.embed(TEXTS, adapter(spec, w));
        float[][] viaLora = BASE.embedTokens(BASE.tokenize(TEXTS, 128), lora, factors);
        assertThat(maxAbsDiff(viaLokr, BASE.embed(TEXTS, null))).isGreaterThan(1e-3f);
        assertThat(maxAbsDiff(viaLokr, viaLora)).isLessThan(1e-5f);
    }

    private static HostTensor flat(double[][] m, double scale) {
        float[] d = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) for (int j = 0; j < m[0].length; j++) d[i * m[0].length + j] = (float) (m[i][j] * scale);
        return new HostTensor(new long[]{m.length, m[0].length}, d);
    }

    private static double[][] rows(HostTensor t) {
        int r = (int) t.shape()[0], c = (int) t.shape()[1];
        double[][] out = new double[r][c];
        for (int i = 0; i < r; i++) for (int j = 0; j < c; j++) out[i][j] = t.data()[i * c + j];
        return out;
    }

    private static List<LabeledText> glosses(int from, int to) {
        SortedMap<String, List<String>> all = WordNetSupersenses.glossesBySupersense();
        List<LabeledText> out = new ArrayList<>();
        for (String c : CLASSES) for (String g : all.get(c).subList(from, to)) out.add(new LabeledText(g, c));
        return out;
    }

    @Test
    void twoStepsMoveEveryFactorAndAShortRunOnWordNetBeatsChance() {
        LokrSpec spec = LokrSpec.of(List.of("query", "value", "output.dense"));
        List<LabeledText> train = glosses(0, 12), test = glosses(12, 22);
        // two steps: gradients reach w1 (zero at init: its gradient comes through w2) on the first, then both halves of
        // w2 (whose gradient is proportional to w1, so 0 on the first step, as with LoRA's A when B = 0)
        TrainingSpec one = new TrainingSpec(1, 18, 5e-3f, 0.0f, 0.0f, 1.0f, 7L, 32, 0);
        Adapter stepped = new LoraTrainer(BASE).train(TrainingRequest.of(train, CLASSES, spec, one, null, null, null, Map.of()));
        Map<String, HostTensor> init = LokrInit.initialWeights(spec, BASE.layers(), H, I, 7L);
        for (String name : List.of("lokr_w1", "lokr_w2_a", "lokr_w2_b")) {
            for (String module : spec.targetModules()) {
                String key = LokrSpec.peftKey(3, module, name);
                float moved = 0;
                for (int i = 0; i < init.get(key).data().length; i++) moved = Math.max(moved, Math.abs(stepped.weights().get(key).data()[i] - init.get(key).data()[i]));
                assertThat(moved).as(key).isGreaterThan(1e-5f);
            }
        }
        // a short run: 2 epochs of 3 steps
        TrainingSpec ts = new TrainingSpec(2, 12, 5e-3f, 0.01f, 0.1f, 1.0f, 1234L, 32, 0);
        List<Float> losses = new ArrayList<>();
        Adapter a = new LoraTrainer(BASE).train(TrainingRequest.of(train, CLASSES, spec, ts, null, p -> losses.add(p.loss()), null, Map.of()));
        assertThat(a.kind()).isEqualTo(AdapterKind.LOKR);
        assertThat(a.lokr()).isEqualTo(spec);
        assertThat(losses).hasSize(6);
        long perLayer = spec.parametersPerLayer(H, I);
        assertThat(perLayer).isEqualTo(2 * (16 * 16 + 24 * 8 + 8 * 24) + (16 * 32 + 24 * 8 + 8 * 48));
        assertThat(a.trainableParameters()).isEqualTo(6 * perLayer + 3L * H);
        System.out.printf("LoKr r=%d on %s: %d trainable adapter parameters (+%d head)%n", spec.rank(), spec.targetModules(), 6 * perLayer, 3 * H);
        List<String> predicted = a.head().classify(BASE.embed(test.stream().map(LabeledText::text).toList(), a));
        int right = 0;
        for (int i = 0; i < test.size(); i++) if (predicted.get(i).equals(test.get(i).label())) right++;
        assertThat(right / (double) test.size()).as("held-out accuracy").isGreaterThan(0.5);  // chance: 1/3

        // files: PEFT's LoKrConfig, identical embeddings after a round trip
        Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(a));
        assertThat(back.kind()).isEqualTo(AdapterKind.LOKR);
        assertThat(back.lokr()).isEqualTo(spec);
        assertThat(back.weights()).isEqualTo(a.weights());
        assertThat(maxAbsDiff(BASE.embed(TEXTS, back), BASE.embed(TEXTS, a))).isZero();
    }

    @Test
    void filesArePeftsLokrLayoutAndBadWeightsAreRefused() throws Exception {
        LokrSpec spec = new LokrSpec(List.of("key", "intermediate.dense"), 4, 16, true, -1);
        Adapter a = adapter(spec, random(spec, 2));
        SortedMap<String, byte[]> files = PeftAdapterFormat.toFiles(a);
        JsonNode config = new ObjectMapper().readTree(files.get(PeftAdapterFormat.CONFIG));
        assertThat(config.get("peft_type").asText()).isEqualTo("LOKR");
        assertThat(config.get("r").asInt()).isEqualTo(4);
        assertThat(config.get("alpha").asDouble()).isEqualTo(16.0);
        assertThat(config.get("decompose_both").asBoolean()).isTrue();
        assertThat(config.get("decompose_factor").asInt()).isEqualTo(-1);
        assertThat(config.get("rank_dropout").asDouble()).isZero();
        assertThat(config.get("module_dropout").asDouble()).isZero();
        assertThat(config.get("init_weights").asBoolean()).isTrue();
        assertThat(config.get("target_modules").toString()).isEqualTo("[\"key\",\"intermediate.dense\"]");
        Map<String, HostTensor> stored = Safetensors.read(files.get(PeftAdapterFormat.WEIGHTS)).tensors();
        assertThat(stored).containsKey("base_model.model.encoder.layer.5.intermediate.dense.lokr_w1_b");
        assertThat(stored.get("base_model.model.encoder.layer.0.attention.self.key.lokr_w2_a").shape()).containsExactly(24, 4);
        Adapter back = PeftAdapterFormat.fromFiles(files);
        assertThat(back.lokr()).isEqualTo(spec);
        assertThat(back.weights()).isEqualTo(a.weights());

        String key = "base_model.model.encoder.layer.1.attention.self.key.lokr_w2_b";
        Map<String, HostTensor> nan = new TreeMap<>(a.weights());
        float[] d = nan.get(key).data().clone();
        d[5] = Float.NaN;
        nan.put(key, new HostTensor(nan.get(key).shape(), d));
        SortedMap<String, byte[]> bad = new TreeMap<>(files);
        bad.put(PeftAdapterFormat.WEIGHTS, Safetensors.write(nan, Map.of("format", "pt")));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(bad)).hasMessage(PeftAdapterFormat.WEIGHTS + ": '" + key + "' holds NaN at element 5");
        Map<String, HostTensor> wrong = new TreeMap<>(a.weights());
        wrong.put(key, new HostTensor(new long[]{4, 23}, new float[4 * 23]));
        bad.put(PeftAdapterFormat.WEIGHTS, Safetensors.write(wrong, Map.of("format", "pt")));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(bad)).hasMessage(PeftAdapterFormat.WEIGHTS + ": '" + key + "' has shape [4, 23], expected [4, 24]");
        assertThatThrownBy(() -> PeftAdapterFormat.toFiles(adapter(spec, wrong))).hasMessageContaining("has shape [4, 23], expected [4, 24]");
        // options Lamina does not apply are refused, not silently dropped
        String withDropout = new String(files.get(PeftAdapterFormat.CONFIG)).replace("\"rank_dropout\" : 0.0", "\"rank_dropout\" : 0.1");
        SortedMap<String, byte[]> dropout = new TreeMap<>(files);
        dropout.put(PeftAdapterFormat.CONFIG, withDropout.getBytes());
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(dropout)).hasMessageContaining("unsupported rank_dropout=0.1, only 0 is supported");
        // merges work on LoRA factors
        assertThatThrownBy(() -> a.requireLinearLora("merging")).hasMessageContaining("a LoKr adapter's update is a Kronecker product");
    }

    @Test
    void importsPeftLokrDirectoriesAndRefusesWhatItCannotApply() throws Exception {
        LokrSpec spec = new LokrSpec(List.of("query", "value", "output.dense"), 4, 8, false, -1);
        Map<String, HostTensor> bf16 = new TreeMap<>();
        for (Map.Entry<String, HostTensor> e : random(spec, 11).entrySet()) {
            float[] d = e.getValue().data().clone();
            for (int i = 0; i < d.length; i++) d[i] = io.lamina.engine.io.PeftFixtures.exactBf16(d[i]);
            bf16.put(e.getKey(), new HostTensor(e.getValue().shape(), d));
        }
        // adapter_config.json as PEFT 0.17 saves a LoKrConfig (fields Lamina does not write included)
        ObjectMapper json = new ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode config = (com.fasterxml.jackson.databind.node.ObjectNode)
                json.readTree(PeftAdapterFormat.toFiles(adapter(spec, bf16)).get(PeftAdapterFormat.CONFIG));
        config.put("peft_version", "0.17.1");
        config.putNull("layers_pattern");
        config.put("init_weights", "lycoris");
        java.util.function.Function<java.util.function.Consumer<com.fasterxml.jackson.databind.node.ObjectNode>, byte[]> zip = edit -> {
            com.fasterxml.jackson.databind.node.ObjectNode c = config.deepCopy();
            edit.accept(c);
            try {
                return io.lamina.engine.io.PeftFixtures.zip(Map.of(PeftAdapterFormat.CONFIG, json.writeValueAsBytes(c),
                        PeftAdapterFormat.WEIGHTS, io.lamina.engine.io.PeftFixtures.safetensors(bf16, "BF16")));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        PeftAdapterFormat.PeftImport imported = PeftAdapterFormat.importPeft(zip.apply(c -> { }), 6, H, I);
        assertThat(imported.kind()).isEqualTo(AdapterKind.LOKR);
        assertThat(imported.lokr()).isEqualTo(spec);
        assertThat(imported.weights()).isEqualTo(bf16);
        assertThat(imported.details()).containsEntry("peft-version", "0.17.1");
        assertThat(imported.size()).isEqualTo(4);
        assertThat(imported.targetModules()).containsExactly("query", "value", "output.dense");
        Adapter asAdapter = imported.toAdapter(adapter(spec, bf16).head(), BASE.id(), BASE.fingerprint(), new AdapterProvenance("imported", imported.details()));
        assertThat(maxAbsDiff(BASE.embed(TEXTS, asAdapter), BASE.embed(TEXTS, adapter(spec, bf16)))).isZero();

        String where = PeftAdapterFormat.CONFIG + ": ";
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(zip.apply(c -> c.put("rank_dropout", 0.05)), 6, H, I))
                .hasMessage(where + "unsupported rank_dropout=0.05, only 0 is supported");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(zip.apply(c -> c.put("module_dropout", 0.1)), 6, H, I))
                .hasMessage(where + "unsupported module_dropout=0.1, only 0 is supported");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(zip.apply(c -> c.put("use_effective_conv2d", true)), 6, H, I))
                .hasMessage(where + "unsupported use_effective_conv2d=true, only false is supported");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(zip.apply(c -> c.putObject("rank_pattern").put("query", 2)), 6, H, I))
                .hasMessage(where + "unsupported rank_pattern={\"query\":2}, only {} is supported");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(zip.apply(c -> c.putObject("alpha_pattern").put("value", 2)), 6, H, I))
                .hasMessage(where + "unsupported alpha_pattern={\"value\":2}, only {} is supported");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(zip.apply(c -> c.putArray("layers_to_transform").add(0)), 6, H, I))
                .hasMessage(where + "unsupported layers_to_transform=[0], only null is supported");
        // a base of another width or depth: the factors do not fit
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(zip.apply(c -> { }), 6, 768, 3072))
                .hasMessageStartingWith(PeftAdapterFormat.WEIGHTS + ": 'base_model.model.encoder.layer.0.attention.self.query.lokr_w1' has shape [16, 16], expected ");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(zip.apply(c -> { }), 12, H, I))
                .hasMessageStartingWith(PeftAdapterFormat.WEIGHTS + ": missing LoKr weight 'base_model.model.encoder.layer.10.");
        // NaN in a half-precision tensor
        String key = LokrSpec.peftKey(2, "value", "lokr_w1");
        Map<String, HostTensor> nan = new TreeMap<>(bf16);
        float[] d = nan.get(key).data().clone();
        d[3] = Float.NaN;
        nan.put(key, new HostTensor(nan.get(key).shape(), d));
        byte[] nanZip = io.lamina.engine.io.PeftFixtures.zip(Map.of(PeftAdapterFormat.CONFIG, json.writeValueAsBytes(config),
                PeftAdapterFormat.WEIGHTS, io.lamina.engine.io.PeftFixtures.safetensors(nan, "BF16")));
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(nanZip, 6, H, I)).hasMessage(PeftAdapterFormat.WEIGHTS + ": '" + key + "' holds NaN at element 3");
    }
}
