package io.lamina.engine.adapter.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.io.Safetensors;
import io.lamina.engine.merge.AdapterMerger;
import io.lamina.engine.merge.MergeRecipe;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.LoraArrays;
import io.lamina.engine.model.OnnxInitializers;
import io.lamina.engine.serving.LoraBlend;
import io.lamina.engine.serving.MixedAdapterEncoder;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** DoRA (PEFT {@code use_dora=True}) on the real MiniLM weights: init, forward, merge, training, files. */
class DoraTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final LoraSpec DORA = new LoraSpec(4, 8f, 0f, List.of("query", "value")).withVariant(LoraVariant.DORA);
    private static final List<String> THINGS = List.of("animal", "vehicle", "food");
    private static final List<String> TEXTS = List.of("a small boat on the lake", "the striker kicked the ball into the net",
            "bake the muffins in a hot oven until golden", "Rain");

    /** Fresh factors (B = 0) and PEFT's initial magnitudes. */
    private static Map<String, HostTensor> fresh(LoraSpec spec, long seed) {
        Map<String, HostTensor> w = new TreeMap<>(LoraInit.initialWeights(spec, BASE.layers(), BASE.hiddenSize(), seed));
        w.putAll(BASE.doraMagnitudes(spec, w));
        return w;
    }

    /** Factors with a random non-zero B and magnitudes moved off their init, as after training. */
    private static Map<String, HostTensor> trained(LoraSpec spec, long seed) {
        Map<String, HostTensor> w = new TreeMap<>(LoraInit.initialWeights(spec, BASE.layers(), BASE.hiddenSize(), seed));
        Random rnd = new Random(seed);
        for (Map.Entry<String, HostTensor> e : w.entrySet()) {
            float[] d = new float[e.getValue().data().length];
            for (int i = 0; i < d.length; i++) d[i] = (float) (rnd.nextGaussian() * 0.05);
            if (e.getKey().contains("lora_B")) e.setValue(new HostTensor(e.getValue().shape(), d));
        }
        for (Map.Entry<String, HostTensor> e : BASE.doraMagnitudes(spec, w).entrySet()) {
            float[] m = e.getValue().data().clone();
            for (int i = 0; i < m.length; i++) m[i] *= (float) (1 + 0.2 * rnd.nextGaussian());
            w.put(e.getKey(), new HostTensor(e.getValue().shape(), m));
        }
        return w;
    }

    private static Adapter adapter(LoraSpec spec, Map<String, HostTensor> w) {
        float[][] protos = new float[THINGS.size()][BASE.hiddenSize()];
        for (int c = 0; c < protos.length; c++) protos[c][c] = 1f;
        return Adapter.lora(spec, w, new PrototypeHead(THINGS, protos, 16f), BASE.id(), BASE.fingerprint(),
                new AdapterProvenance(AdapterProvenance.TRAINED, Map.of("seed", "1")));
    }

    private static float[][] unmerged(LoraSpec spec, Map<String, HostTensor> w, List<String> texts) {
        try (NDManager m = BASE.manager().newSubManager()) {
            int t = spec.targetModules().size();
            NDArray[][] a = new NDArray[BASE.layers()][t], b = new NDArray[BASE.layers()][t], mag = new NDArray[BASE.layers()][t];
            for (int l = 0; l < BASE.layers(); l++) {
                for (int i = 0; i < t; i++) {
                    String module = spec.targetModules().get(i);
                    a[l][i] = create(m, w.get(LoraSpec.peftKey(l, module, 'A')));
                    b[l][i] = create(m, w.get(LoraSpec.peftKey(l, module, 'B')));
                    mag[l][i] = create(m, w.get(LoraSpec.magnitudeKey(l, module)));
                }
            }
            float[] flat = BASE.encode(m, BASE.tokenize(texts, 128), new LoraArrays(spec, a, b, null, mag), false).toFloatArray();
            float[][] out = new float[texts.size()][BASE.hiddenSize()];
            for (int i = 0; i < out.length; i++) System.arraycopy(flat, i * BASE.hiddenSize(), out[i], 0, BASE.hiddenSize());
            return out;
        }
    }

    private static NDArray create(NDManager m, HostTensor t) {
        return m.create(t.data(), new Shape(t.shape()));
    }


    @Test
    void initialMagnitudesAreThePerOutputFeatureNormsOfTheOriginalWeight() throws Exception {
        // PEFT: torch.linalg.norm(W + s·BA, dim=1) with W [out, in]; the ONNX file stores W as [in, out], so a column norm there.
        byte[] onnx;
        try (InputStream in = BaseModel.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            onnx = in.readAllBytes();
        }
        Map<String, HostTensor> weights = OnnxInitializers.parse(onnx).namedFloatTensors();
        Map<String, HostTensor> m = fresh(DORA, 3);
        for (int l : new int[]{0, 5}) {
            for (String module : List.of("query", "value")) {
                HostTensor w = weights.get("encoder.layer." + l + ".attention.self." + module + ".weight"); // [in, out]
                int in = (int) w.shape()[0], out = (int) w.shape()[1];
                float[] got = m.get(LoraSpec.magnitudeKey(l, module)).data();
                assertThat(got).hasSize(out);
                for (int o = 0; o < out; o += 37) {
                    double sq = 0;
                    for (int i = 0; i < in; i++) sq += (double) w.data()[i * out + o] * w.data()[i * out + o];
                    assertThat((double) got[o]).as("layer %d %s feature %d", l, module, o).isCloseTo(Math.sqrt(sq), within(1e-4 * Math.sqrt(sq)));
                }
            }
        }
    }

    @Test
    void adaptedModelEqualsTheBaseAtStepZero() {
        Map<String, HostTensor> w = fresh(DORA, 3);
        float[][] base = BASE.embed(TEXTS, null);
        assertThat(maxAbsDiff(unmerged(DORA, w, TEXTS), base)).as("training forward").isLessThanOrEqualTo(1e-6f);
        assertThat(maxAbsDiff(BASE.embed(TEXTS, adapter(DORA, w)), base)).as("merged inference").isLessThanOrEqualTo(1e-6f);
    }

    @Test
    void unmergedForwardAndPeftsMergedWeightAgreeAndDifferFromPlainLora() {
        Map<String, HostTensor> w = trained(DORA, 7);
        float[][] merged = BASE.embed(TEXTS, adapter(DORA, w));
        // unmerged: W x + b + (m/n − 1) W x + (m/n) s BAx; merged: (m/n)[:, None] (W + sBA) — two different computations
        assertThat(maxAbsDiff(unmerged(DORA, w, TEXTS), merged)).isLessThan(1e-5f);
        Map<String, HostTensor> factorsOnly = new TreeMap<>(w);
        factorsOnly.keySet().removeIf(k -> k.endsWith("lora_magnitude_vector"));
        LoraSpec plain = DORA.withVariant(LoraVariant.STANDARD);
        assertThat(maxAbsDiff(merged, BASE.embed(TEXTS, adapter(plain, factorsOnly)))).isGreaterThan(1e-3f);
        // magnitudes equal to the norms of W + sBA make DoRA exactly the plain LoRA of the same factors
        Map<String, HostTensor> renormed = new TreeMap<>(factorsOnly);
        renormed.putAll(BASE.doraMagnitudes(DORA, factorsOnly));
        assertThat(maxAbsDiff(BASE.embed(TEXTS, adapter(DORA, renormed)), BASE.embed(TEXTS, adapter(plain, factorsOnly)))).isLessThan(1e-5f);
    }

    @Test
    void trainsThroughTheTrainerWithGradientsReachingMagnitudesAndBothFactors() {
        List<LabeledText> data = TinyTasks.things();
        TrainingSpec spec = new TrainingSpec(3, 5, 3e-3f, 0.01f, 0.1f, 1.0f, 1234L, 32, 0);
        LoraSpec dora = LoraSpec.defaults().withVariant(LoraVariant.DORA);
        List<Float> losses = new ArrayList<>();
        Adapter a = new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, dora, spec, null, p -> losses.add(p.loss()), null, Map.of()));
        assertThat(a.spec().dora()).isTrue();
        // 6 layers × 2 targets × (A [8,384] + B [384,8] + m [384]) + head 3 × 384
        assertThat(a.trainableParameters()).isEqualTo(6L * 2 * (8 * 384 * 2 + 384) + 3 * 384);
        assertThat(a.weights()).containsKey(LoraSpec.magnitudeKey(5, "value"));
        assertThat((losses.get(6) + losses.get(7) + losses.get(8)) / 3).isLessThan((losses.get(0) + losses.get(1) + losses.get(2)) / 3);
        Map<String, HostTensor> init = fresh(dora, 1234);
        for (String key : List.of(LoraSpec.magnitudeKey(0, "query"), LoraSpec.peftKey(0, "query", 'A'), LoraSpec.peftKey(0, "query", 'B'))) {
            float moved = 0;
            float[] x = a.weights().get(key).data(), y = init.get(key).data();
            for (int i = 0; i < x.length; i++) moved = Math.max(moved, Math.abs(x[i] - y[i]));
            assertThat(moved).as(key).isGreaterThan(1e-5f);
        }
        // the trained file reloads and embeds identically
        Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(a));
        assertThat(back.spec()).isEqualTo(a.spec());
        assertThat(back.weights()).isEqualTo(a.weights());
        assertThat(maxAbsDiff(BASE.embed(TEXTS, back), BASE.embed(TEXTS, a))).isZero();
    }

    @Test
    void exportsAndImportsPeftsDoraKeysAndConfig() throws Exception {
        Adapter a = adapter(DORA, trained(DORA, 11));
        Map<String, byte[]> files = PeftAdapterFormat.toFiles(a);
        JsonNode config = new ObjectMapper().readTree(files.get(PeftAdapterFormat.CONFIG));
        assertThat(config.get("use_dora").booleanValue()).isTrue();
        assertThat(config.get("peft_type").textValue()).isEqualTo("LORA");
        Map<String, HostTensor> tensors = Safetensors.read(files.get(PeftAdapterFormat.WEIGHTS)).tensors();
        assertThat(tensors.get("base_model.model.encoder.layer.0.attention.self.query.lora_magnitude_vector").shape()).containsExactly(384);
        assertThat(tensors.keySet()).hasSize(6 * 2 * 3).noneMatch(k -> k.endsWith("lora_magnitude_vector.weight"));

        java.io.ByteArrayOutputStream zip = new java.io.ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(zip)) {
            for (String name : List.of(PeftAdapterFormat.CONFIG, PeftAdapterFormat.WEIGHTS)) {
                z.putNextEntry(new java.util.zip.ZipEntry(name));
                z.write(files.get(name));
                z.closeEntry();
            }
        }
        PeftAdapterFormat.PeftLora imported = PeftAdapterFormat.importPeftZip(zip.toByteArray(), 6, 384);
        assertThat(imported.spec()).isEqualTo(DORA);
        assertThat(imported.weights()).isEqualTo(a.weights());

        Map<String, HostTensor> noMagnitudes = new TreeMap<>(tensors);
        noMagnitudes.keySet().removeIf(k -> k.endsWith("lora_magnitude_vector"));
        java.io.ByteArrayOutputStream bad = new java.io.ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(bad)) {
            z.putNextEntry(new java.util.zip.ZipEntry(PeftAdapterFormat.CONFIG));
            z.write(files.get(PeftAdapterFormat.CONFIG));
            z.closeEntry();
            z.putNextEntry(new java.util.zip.ZipEntry(PeftAdapterFormat.WEIGHTS));
            z.write(Safetensors.write(noMagnitudes, Map.of("format", "pt")));
            z.closeEntry();
        }
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(bad.toByteArray(), 6, 384))
                .hasMessageContaining("missing LoRA weight 'base_model.model.encoder.layer.0.attention.self.query.lora_magnitude_vector'");
    }

    @Test
    void mergesRefuseDoraAndMixedBatchesServeItAlone() {
        Adapter dora = adapter(DORA, trained(DORA, 5));
        Map<String, HostTensor> plainW = new TreeMap<>(dora.weights());
        plainW.keySet().removeIf(k -> k.endsWith("lora_magnitude_vector"));
        Adapter plain = adapter(DORA.withVariant(LoraVariant.STANDARD), plainW);
        assertThat(dora.isLinearLora()).isFalse();
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(plain, dora), MergeRecipe.of("task_arithmetic", List.of(0.5, 0.5)), Map.of()))
                .hasMessageContaining("adapter 1").hasMessageContaining("DoRA");

        MixedAdapterEncoder mixed = new MixedAdapterEncoder(BASE);
        float[][] rows = mixed.embed(TEXTS, java.util.Arrays.asList(dora, plain, null, dora));
        assertThat(maxAbsDiff(new float[][]{rows[0], rows[3]}, BASE.embed(List.of(TEXTS.get(0), TEXTS.get(3)), dora))).isLessThan(1e-5f);
        assertThat(maxAbsDiff(new float[][]{rows[1]}, BASE.embed(List.of(TEXTS.get(1)), plain))).isLessThan(1e-5f);
        assertThatThrownBy(() -> mixed.embedBlends(TEXTS.subList(0, 1), List.of(LoraBlend.weighted(List.of(dora), 0.5f))))
                .hasMessageContaining("DoRA");
    }

    @Test
    void aDoraSpecNeedsMagnitudeArraysAndNoGate() {
        try (NDManager m = BASE.manager().newSubManager()) {
            NDArray[][] a = {{m.zeros(new Shape(4, 384)), m.zeros(new Shape(4, 384))}};
            NDArray[][] b = {{m.zeros(new Shape(384, 4)), m.zeros(new Shape(384, 4))}};
            assertThatThrownBy(() -> new LoraArrays(DORA, a, b)).hasMessageContaining("needs magnitude");
        }
        assertThatThrownBy(() -> Adapter.mora(DORA, Map.of(), io.lamina.engine.adapter.mora.RankGate.defaults(),
                new PrototypeHead(List.of("x"), new float[][]{{1f}}, 16f), "b", "f", new AdapterProvenance("t", Map.of())))
                .hasMessageContaining("DoRA");
    }
}
