package io.lamina.engine.adapter.ia3;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.io.Safetensors;
import io.lamina.engine.merge.AdapterMerger;
import io.lamina.engine.merge.MergeRecipe;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.serving.MixedAdapterEncoder;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** (IA)^3 (PEFT {@code IA3}) on the real MiniLM weights: semantics, training, files. */
class Ia3Test {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final List<String> THINGS = List.of("animal", "vehicle", "food");
    private static final List<String> TEXTS = List.of("a small boat on the lake", "the striker kicked the ball into the net",
            "bake the muffins in a hot oven until golden", "Rain");
    private static final int H = 384, I = 1536;

    private static Adapter adapter(Ia3Spec spec, Map<String, HostTensor> w) {
        float[][] protos = new float[THINGS.size()][H];
        for (int c = 0; c < protos.length; c++) protos[c][c] = 1f;
        return Adapter.of(spec, w, new PrototypeHead(THINGS, protos, 16f), BASE.id(), BASE.fingerprint(),
                new AdapterProvenance(AdapterProvenance.TRAINED, Map.of("seed", "1")));
    }

    /** Vectors drawn around 1, as after training. */
    private static Map<String, HostTensor> random(Ia3Spec spec, long seed) {
        Random rnd = new Random(seed);
        Map<String, HostTensor> w = new TreeMap<>();
        for (Map.Entry<String, HostTensor> e : Ia3Init.initialWeights(spec, BASE.layers(), H, I).entrySet()) {
            float[] d = e.getValue().data().clone();
            for (int i = 0; i < d.length; i++) d[i] = (float) (1 + 0.3 * rnd.nextGaussian());
            w.put(e.getKey(), new HostTensor(e.getValue().shape(), d));
        }
        return w;
    }


    @Test
    void defaultsArePeftsBertDefaultsWithTheirShapesAndParameterCount() {
        Ia3Spec d = Ia3Spec.defaults();
        assertThat(d.targetModules()).containsExactly("key", "value", "attention.output.dense", "output.dense");
        assertThat(d.feedforwardModules()).containsExactly("attention.output.dense", "output.dense");
        Map<String, HostTensor> w = Ia3Init.initialWeights(d, BASE.layers(), H, BASE.intermediateSize());
        assertThat(BASE.intermediateSize()).isEqualTo(I);
        assertThat(w.get("base_model.model.encoder.layer.0.attention.self.key.ia3_l").shape()).containsExactly(H, 1);
        assertThat(w.get("base_model.model.encoder.layer.0.attention.self.value.ia3_l").shape()).containsExactly(H, 1);
        assertThat(w.get("base_model.model.encoder.layer.0.attention.output.dense.ia3_l").shape()).containsExactly(1, H);
        assertThat(w.get("base_model.model.encoder.layer.5.output.dense.ia3_l").shape()).containsExactly(1, I);
        assertThat(w).hasSize(6 * 4);
        assertThat(d.parametersPerLayer(H, I)).isEqualTo(H + H + H + I);
        assertThatThrownBy(() -> new Ia3Spec(List.of("key"), List.of("output.dense")))
                .hasMessageContaining("feedforward_modules should be a subset of target_modules");
        assertThatThrownBy(() -> new Ia3Spec(List.of("dense"), List.of())).hasMessageContaining("unsupported (IA)^3 target module 'dense'");
    }

    @Test
    void onesGiveTheBaseModel() {
        Ia3Spec spec = new Ia3Spec(Ia3Spec.MODULES, List.of("query", "intermediate.dense", "output.dense"));
        float[][] adapted = BASE.embed(TEXTS, adapter(spec, Ia3Init.initialWeights(spec, BASE.layers(), H, I)));
        assertThat(maxAbsDiff(adapted, BASE.embed(TEXTS, null))).isLessThanOrEqualTo(1e-6f);
    }

    @Test
    void scalingTheValueOutputEqualsScalingTheAttentionOutputInput() {
        // context = softmax(QK^T) V is linear in V's features, so l ⊙ (value output) ≡ l ⊙ (attention.output.dense input):
        // this holds only if output scaling and PEFT's feed-forward input scaling are each applied where they should be.
        Ia3Spec onValue = new Ia3Spec(List.of("value"), List.of());
        Ia3Spec onAttnOut = new Ia3Spec(List.of("attention.output.dense"), List.of("attention.output.dense"));
        Map<String, HostTensor> v = random(onValue, 3);
        Map<String, HostTensor> o = new TreeMap<>();
        for (int l = 0; l < BASE.layers(); l++) {
            HostTensor t = v.get(Ia3Spec.peftKey(l, "value"));                  // [384, 1]
            o.put(Ia3Spec.peftKey(l, "attention.output.dense"), new HostTensor(new long[]{1, H}, t.data()));
        }
        float[][] a = BASE.embed(TEXTS, adapter(onValue, v));
        float[][] b = BASE.embed(TEXTS, adapter(onAttnOut, o));
        assertThat(maxAbsDiff(a, b)).isLessThan(1e-5f);
        assertThat(maxAbsDiff(a, BASE.embed(TEXTS, null))).isGreaterThan(1e-3f);
        // ...while scaling that projection's output instead (bias and all, not its input) is a different model
        Ia3Spec onAttnOutOutput = new Ia3Spec(List.of("attention.output.dense"), List.of());
        Map<String, HostTensor> oo = new TreeMap<>();
        for (int l = 0; l < BASE.layers(); l++) oo.put(Ia3Spec.peftKey(l, "attention.output.dense"), new HostTensor(new long[]{H, 1}, v.get(Ia3Spec.peftKey(l, "value")).data()));
        assertThat(maxAbsDiff(BASE.embed(TEXTS, adapter(onAttnOutOutput, oo)), a)).isGreaterThan(1e-4f);
    }

    @Test
    void trainsThroughTheTrainerAndReportsItsParameters() {
        List<LabeledText> data = TinyTasks.things();
        TrainingSpec spec = new TrainingSpec(3, 5, 1e-2f, 0.01f, 0.1f, 1.0f, 1234L, 32, 0);
        List<Float> losses = new ArrayList<>();
        Adapter a = new LoraTrainer(BASE).train(TrainingRequest.of(data, THINGS, Ia3Spec.defaults(), spec, null, p -> losses.add(p.loss()), null, Map.of()));
        assertThat(a.kind()).isEqualTo(AdapterKind.IA3);
        assertThat(a.spec()).isNull();
        assertThat(a.trainableParameters()).isEqualTo(6L * (H + H + H + I) + 3L * H);
        assertThat(losses).hasSize(9);
        assertThat((losses.get(6) + losses.get(7) + losses.get(8)) / 3).isLessThan((losses.get(0) + losses.get(1) + losses.get(2)) / 3);
        for (String module : Ia3Spec.defaults().targetModules()) {
            float moved = 0;
            for (float x : a.weights().get(Ia3Spec.peftKey(0, module)).data()) moved = Math.max(moved, Math.abs(x - 1f));
            assertThat(moved).as(module).isGreaterThan(1e-4f);
        }
        Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(a));
        assertThat(back.kind()).isEqualTo(AdapterKind.IA3);
        assertThat(back.ia3()).isEqualTo(a.ia3());
        assertThat(back.weights()).isEqualTo(a.weights());
        assertThat(maxAbsDiff(BASE.embed(TEXTS, back), BASE.embed(TEXTS, a))).isZero();
        // a warm start continues from the given vectors
        Adapter again = new LoraTrainer(BASE).train(TrainingRequest.of(data, THINGS, Ia3Spec.defaults(), spec.withEpochs(1).withBatchSize(15), a, null, null, Map.of()));
        float[] before = a.weights().get(Ia3Spec.peftKey(2, "value")).data(), after = again.weights().get(Ia3Spec.peftKey(2, "value")).data();
        for (int i = 0; i < before.length; i++) assertThat(Math.abs(after[i] - before[i])).isLessThan(2e-2f);
    }

    private static byte[] zip(Map<String, byte[]> files) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                z.putNextEntry(new ZipEntry(f.getKey()));
                z.write(f.getValue());
                z.closeEntry();
            }
        }
        return out.toByteArray();
    }

    private static byte[] peft(Map<String, byte[]> files, Consumer<ObjectNode> editConfig) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = (ObjectNode) json.readTree(files.get(PeftAdapterFormat.CONFIG));
        editConfig.accept(c);
        return zip(Map.of(PeftAdapterFormat.CONFIG, json.writeValueAsBytes(c), PeftAdapterFormat.WEIGHTS, files.get(PeftAdapterFormat.WEIGHTS)));
    }

    @Test
    void exportsPeftsIa3ConfigAndKeysAndImportsThemBack() throws Exception {
        Adapter a = adapter(Ia3Spec.defaults(), random(Ia3Spec.defaults(), 9));
        Map<String, byte[]> files = PeftAdapterFormat.toFiles(a);
        JsonNode c = new ObjectMapper().readTree(files.get(PeftAdapterFormat.CONFIG));
        assertThat(c.get("peft_type").textValue()).isEqualTo("IA3");
        // exactly PEFT's BERT defaults: "output.dense" matches attention.output.dense too, by suffix
        assertThat(c.get("target_modules").toString()).isEqualTo("[\"key\",\"value\",\"output.dense\"]");
        assertThat(c.get("feedforward_modules").toString()).isEqualTo("[\"output.dense\"]");
        assertThat(c.get("init_ia3_weights").booleanValue()).isTrue();
        assertThat(c.has("r")).isFalse();
        Map<String, HostTensor> tensors = Safetensors.read(files.get(PeftAdapterFormat.WEIGHTS)).tensors();
        assertThat(tensors.keySet()).allMatch(k -> k.endsWith(".ia3_l")).hasSize(24);
        assertThat(tensors.get("base_model.model.encoder.layer.3.output.dense.ia3_l").shape()).containsExactly(1, I);

        PeftAdapterFormat.PeftImport imported = PeftAdapterFormat.importPeft(peft(files, x -> { }), 6, H, I);
        assertThat(imported.kind()).isEqualTo(AdapterKind.IA3);
        assertThat(imported.ia3()).isEqualTo(Ia3Spec.defaults());
        assertThat(imported.weights()).isEqualTo(a.weights());
        float[][] viaImport = BASE.embed(TEXTS, adapter(imported.ia3(), imported.weights()));
        assertThat(maxAbsDiff(viaImport, BASE.embed(TEXTS, a))).isZero();

        // a regular expression (PEFT: full match) selects the same modules
        PeftAdapterFormat.PeftImport regex = PeftAdapterFormat.importPeft(peft(files, x -> {
            x.put("target_modules", ".*\\.(key|value|output\\.dense)");
            x.put("feedforward_modules", ".*output\\.dense");
        }), 6, H, I);
        assertThat(regex.ia3()).isEqualTo(Ia3Spec.defaults());
        assertThat(regex.weights()).isEqualTo(a.weights());
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peft(files, x -> x.putArray("target_modules").add("key").add("value")), 6, H, I))
                .hasMessageContaining("feedforward_modules should be a subset");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peft(files, x -> x.put("target_modules", ".*\\.(key|value|dense)")), 6, H, I))
                .hasMessageContaining("missing (IA)^3 weight 'base_model.model.encoder.layer.0.intermediate.dense.ia3_l'");
        // a FFN-output-only spec is written as a regular expression, since no suffix list names it alone
        Ia3Spec ffnOnly = new Ia3Spec(List.of("output.dense"), List.of("output.dense"));
        Adapter f = adapter(ffnOnly, random(ffnOnly, 4));
        Map<String, byte[]> ffFiles = PeftAdapterFormat.toFiles(f);
        JsonNode fc = new ObjectMapper().readTree(ffFiles.get(PeftAdapterFormat.CONFIG));
        assertThat(fc.get("target_modules").isTextual()).isTrue();
        assertThat(PeftAdapterFormat.importPeft(peft(ffFiles, x -> { }), 6, H, I).ia3()).isEqualTo(ffnOnly);

        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peft(files, x -> x.putArray("target_modules").add("key").add("pooler")), 6, H, I))
                .hasMessageContaining("entry 'pooler' matches no linear layer");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peft(files, x -> x.put("fan_in_fan_out", true)), 6, H, I))
                .hasMessageContaining("fan_in_fan_out");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peft(files, x -> x.putArray("feedforward_modules")), 6, H, I))
                .hasMessageContaining("has shape");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peft(files, x -> { }), 6, 768, 3072)).hasMessageContaining("expected [1, 768]");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(peft(files, x -> { }), 6, H)).hasMessageContaining("cannot be imported as a LoRA");
    }

    @Test
    void mergesRefuseIa3AndMixedBatchesServeItAlone() {
        Adapter ia3 = adapter(Ia3Spec.defaults(), random(Ia3Spec.defaults(), 2));
        Adapter lora = io.lamina.engine.io.AdapterFixtures.randomAdapter(1, LoraSpec.defaults(), 6, H, THINGS, BASE.fingerprint());
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(lora, ia3), MergeRecipe.of("task_arithmetic", List.of(0.5, 0.5)), Map.of()))
                .hasMessageContaining("IA3");
        float[][] rows = new MixedAdapterEncoder(BASE).embed(TEXTS, Arrays.asList(ia3, null, ia3, null));
        assertThat(maxAbsDiff(new float[][]{rows[0], rows[2]}, BASE.embed(List.of(TEXTS.get(0), TEXTS.get(2)), ia3))).isLessThan(1e-5f);
        assertThat(maxAbsDiff(new float[][]{rows[1]}, BASE.embed(List.of(TEXTS.get(1)), null))).isLessThan(1e-6f);
    }
}
