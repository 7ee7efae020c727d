package io.lamina.engine.adapter.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import io.lamina.engine.serving.MixedAdapterEncoder;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** LoRA (and DoRA) on the attention output and the FFN linears, with PEFT's key names. */
class LoraOnDenseLayersTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final int H = 384, I = 1536;
    private static final List<String> DENSE = List.of("attention.output.dense", "intermediate.dense", "output.dense");
    private static final LoraSpec SPEC = new LoraSpec(4, 8f, 0f, List.of("query", "value", "attention.output.dense", "intermediate.dense", "output.dense"));
    private static final List<String> THINGS = List.of("animal", "vehicle", "food");
    private static final List<String> TEXTS = List.of("a small boat on the lake", "the striker kicked the ball into the net", "Rain");

    private static Adapter adapter(LoraSpec spec, Map<String, HostTensor> w) {
        float[][] protos = new float[THINGS.size()][H];
        for (int c = 0; c < protos.length; c++) protos[c][c] = 1f;
        return Adapter.lora(spec, w, new PrototypeHead(THINGS, protos, 16f), BASE.id(), BASE.fingerprint(),
                new AdapterProvenance(AdapterProvenance.TRAINED, Map.of()));
    }

    private static Map<String, HostTensor> withRandomB(LoraSpec spec, long seed) {
        Map<String, HostTensor> w = new TreeMap<>(LoraInit.initialWeights(spec, BASE.layers(), H, I, seed));
        Random rnd = new Random(seed);
        for (Map.Entry<String, HostTensor> e : w.entrySet()) {
            if (!e.getKey().endsWith("lora_B.weight")) continue;
            float[] d = new float[e.getValue().data().length];
            for (int i = 0; i < d.length; i++) d[i] = (float) (0.05 * rnd.nextGaussian());
            e.setValue(new HostTensor(e.getValue().shape(), d));
        }
        return w;
    }


    @Test
    void factorsHavePeftsKeysAndShapesAndStartAtTheBase() {
        Map<String, HostTensor> w = LoraInit.initialWeights(SPEC, BASE.layers(), H, I, 5);
        assertThat(w.get("base_model.model.encoder.layer.0.attention.output.dense.lora_A.weight").shape()).containsExactly(4, H);
        assertThat(w.get("base_model.model.encoder.layer.0.attention.output.dense.lora_B.weight").shape()).containsExactly(H, 4);
        assertThat(w.get("base_model.model.encoder.layer.0.intermediate.dense.lora_A.weight").shape()).containsExactly(4, H);
        assertThat(w.get("base_model.model.encoder.layer.0.intermediate.dense.lora_B.weight").shape()).containsExactly(I, 4);
        assertThat(w.get("base_model.model.encoder.layer.5.output.dense.lora_A.weight").shape()).containsExactly(4, I);
        assertThat(w.get("base_model.model.encoder.layer.5.output.dense.lora_B.weight").shape()).containsExactly(H, 4);
        // A's Kaiming bound is 1/sqrt(in features): 1/sqrt(1536) for the FFN output
        for (float v : w.get("base_model.model.encoder.layer.5.output.dense.lora_A.weight").data()) assertThat(Math.abs(v)).isLessThanOrEqualTo((float) (1 / Math.sqrt(I)));
        // the attention factors are drawn first, as before these targets existed
        LoraSpec qv = new LoraSpec(4, 8f, 0f, List.of("query", "value"));
        assertThat(w.get(LoraSpec.peftKey(0, "query", 'A'))).isEqualTo(LoraInit.initialWeights(qv, BASE.layers(), H, 5).get(LoraSpec.peftKey(0, "query", 'A')));
        assertThatThrownBy(() -> LoraInit.initialWeights(SPEC, 6, H, 5)).hasMessageContaining("needs the FFN width");
        assertThat(maxAbsDiff(BASE.embed(TEXTS, adapter(SPEC, w)), BASE.embed(TEXTS, null))).isLessThanOrEqualTo(1e-6f);
    }

    @Test
    void eachDenseTargetChangesTheModelAndScalesWithTheProductSB() {
        for (String module : DENSE) {
            LoraSpec one = new LoraSpec(2, 4f, 0f, List.of(module));
            float[][] adapted = BASE.embed(TEXTS, adapter(one, withRandomB(one, 3)));
            assertThat(maxAbsDiff(adapted, BASE.embed(TEXTS, null))).as(module).isGreaterThan(1e-4f);
        }
        LoraSpec one = new LoraSpec(2, 4f, 0f, List.of("output.dense"));
        Map<String, HostTensor> w = withRandomB(one, 9);
        Map<String, HostTensor> half = new TreeMap<>(w), scaledAlpha = new TreeMap<>(w);
        for (Map.Entry<String, HostTensor> e : w.entrySet()) {
            if (!e.getKey().endsWith("lora_B.weight")) continue;
            float[] d = e.getValue().data().clone();
            for (int i = 0; i < d.length; i++) d[i] *= 0.5f;
            half.put(e.getKey(), new HostTensor(e.getValue().shape(), d));
        }
        // halving B is the same adapter as halving alpha (s = alpha / r scales the same product)
        LoraSpec halfAlpha = new LoraSpec(2, 2f, 0f, List.of("output.dense"));
        assertThat(maxAbsDiff(BASE.embed(TEXTS, adapter(one, half)), BASE.embed(TEXTS, adapter(halfAlpha, scaledAlpha)))).isLessThan(1e-6f);
    }

    @Test
    void trainsReachingBothFactorsAndRoundTripsThroughPeftFiles() throws Exception {
        List<LabeledText> data = TinyTasks.things();
        TrainingSpec spec = new TrainingSpec(1, 5, 3e-3f, 0.01f, 0f, 1.0f, 77L, 32, 0);
        LoraSpec dora = SPEC.withVariant(LoraVariant.DORA);
        Adapter a = new LoraTrainer(BASE).train(new TrainingRequest(data, THINGS, dora, spec, null, null, null, Map.of()));
        Map<String, HostTensor> init = new TreeMap<>(LoraInit.initialWeights(dora, BASE.layers(), H, I, 77));
        for (String module : DENSE) {
            for (char f : new char[]{'A', 'B'}) {
                float[] x = a.weights().get(LoraSpec.peftKey(2, module, f)).data(), y0 = init.get(LoraSpec.peftKey(2, module, f)).data();
                float moved = 0;
                for (int i = 0; i < x.length; i++) moved = Math.max(moved, Math.abs(x[i] - y0[i]));
                assertThat(moved).as(module + " " + f).isGreaterThan(1e-5f);
            }
        }
        assertThat(a.weights().get(LoraSpec.magnitudeKey(0, "intermediate.dense")).shape()).containsExactly(I);
        long expected = 6L * (2L * (4 * H + H * 4 + H)            // query, value
                + (4 * H + H * 4 + H)                               // attention.output.dense
                + (4 * H + I * 4 + I)                               // intermediate.dense
                + (4 * I + H * 4 + H)) + 3L * H;                    // output.dense, head
        assertThat(a.trainableParameters()).isEqualTo(expected);

        Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(a));
        assertThat(back.spec()).isEqualTo(a.spec());
        assertThat(maxAbsDiff(BASE.embed(TEXTS, back), BASE.embed(TEXTS, a))).isZero();

        Map<String, byte[]> files = PeftAdapterFormat.toFiles(a);
        JsonNode config = new ObjectMapper().readTree(files.get(PeftAdapterFormat.CONFIG));
        // PEFT's suffix matching: "output.dense" names both the attention output and the FFN output
        assertThat(config.get("target_modules").toString()).isEqualTo("[\"query\",\"value\",\"intermediate.dense\",\"output.dense\"]");
        assertThat(Safetensors.read(files.get(PeftAdapterFormat.WEIGHTS)).tensors())
                .containsKey("base_model.model.encoder.layer.3.attention.output.dense.lora_magnitude_vector");
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            for (String name : List.of(PeftAdapterFormat.CONFIG, PeftAdapterFormat.WEIGHTS)) {
                z.putNextEntry(new ZipEntry(name));
                z.write(files.get(name));
                z.closeEntry();
            }
        }
        PeftAdapterFormat.PeftImport imported = PeftAdapterFormat.importPeft(zip.toByteArray(), 6, H, I);
        assertThat(imported.lora()).isEqualTo(dora);
        assertThat(imported.weights()).isEqualTo(a.weights());
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(zip.toByteArray(), 6, H)).hasMessageContaining("needs the base's FFN width");
    }

    @Test
    void mergesRefuseDenseTargetsAndMixedBatchesServeThemAlone() {
        Adapter dense = adapter(SPEC, withRandomB(SPEC, 4));
        LoraSpec qv = new LoraSpec(4, 8f, 0f, List.of("query", "value"));
        Adapter plain = adapter(qv, withRandomB(qv, 4));
        assertThat(dense.isLinearLora()).isTrue();
        assertThat(dense.isStackableLora()).isFalse();
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(plain, dense), MergeRecipe.of("task_arithmetic", List.of(0.5, 0.5)), Map.of()))
                .hasMessageContaining("adapter 1").hasMessageContaining("[attention.output.dense, intermediate.dense, output.dense]");
        float[][] rows = new MixedAdapterEncoder(BASE).embed(TEXTS, Arrays.asList(dense, plain, dense));
        assertThat(maxAbsDiff(new float[][]{rows[0], rows[2]}, BASE.embed(List.of(TEXTS.get(0), TEXTS.get(2)), dense))).isLessThan(1e-5f);
        assertThat(maxAbsDiff(new float[][]{rows[1]}, BASE.embed(List.of(TEXTS.get(1)), plain))).isLessThan(1e-5f);
    }
}
