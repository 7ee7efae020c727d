package io.lamina.engine.adapter.bottleneck;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Architecture;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Placement;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Position;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Tensor;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.data.WordNetSupersenses;
import io.lamina.engine.io.AdapterFixtures;
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
import java.util.Collections;
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

/** Bottleneck adapters trained on a small WordNet task, saved and loaded ({@code LAMINA_BOTTLENECK}), and refused where they cannot go. */
class BottleneckFilesTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final List<String> TEXTS = List.of("a small boat on the lake", "the striker kicked the ball into the net",
            "bake the muffins in a hot oven until golden", "Rain");
    private static final List<String> CLASSES = List.of("noun.animal", "noun.artifact", "noun.food", "noun.plant");

    /** {@code perClass} glosses of each class for training, the next {@code perClass} for testing, drawn by a seeded shuffle. */
    private static List<List<LabeledText>> wordNetTask(int perClass, long seed) {
        List<LabeledText> train = new ArrayList<>(), test = new ArrayList<>();
        Random random = new Random(seed);
        for (String c : CLASSES) {
            List<String> glosses = new ArrayList<>(WordNetSupersenses.glossesBySupersense().get(c));
            Collections.shuffle(glosses, random);
            for (int i = 0; i < perClass; i++) {
                train.add(new LabeledText(glosses.get(i), c));
                test.add(new LabeledText(glosses.get(perClass + i), c));
            }
        }
        return List.of(train, test);
    }

    @Test
    void trainsOnAWordNetTaskBeyondChanceAndRoundTripsThroughItsFiles() {
        List<List<LabeledText>> task = wordNetTask(6, 5);
        BottleneckSpec spec = new BottleneckSpec(Architecture.PFEIFFER, Placement.PARALLEL, 16);
        TrainingSpec ts = new TrainingSpec(2, 12, 5e-3f, 0.01f, 0f, 1f, 3L, 32, 0); // 4 steps
        List<Float> losses = new ArrayList<>();
        Adapter a = new LoraTrainer(BASE).train(TrainingRequest.bottleneck(task.get(0), CLASSES, spec, ts, null, p -> losses.add(p.loss()), null, Map.of()));
        assertThat(a.kind()).isEqualTo(AdapterKind.BOTTLENECK);
        assertThat(a.bottleneck()).isEqualTo(spec);
        assertThat(a.spec()).isNull();
        assertThat(a.trainableParameters()).isEqualTo(6 * spec.parametersPerAdapter(384) + 4L * 384);
        assertThat(losses).hasSize(4);
        assertThat(losses.get(2) + losses.get(3)).isLessThan(losses.get(0) + losses.get(1));
        List<LabeledText> test = task.get(1);
        List<String> predicted = a.head().classify(BASE.embed(test.stream().map(LabeledText::text).toList(), a));
        int correct = 0;
        for (int i = 0; i < test.size(); i++) if (predicted.get(i).equals(test.get(i).label())) correct++;
        assertThat(correct / (double) test.size()).as("held-out accuracy, chance 0.25").isGreaterThanOrEqualTo(0.5);

        Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(a));
        assertThat(back.kind()).isEqualTo(AdapterKind.BOTTLENECK);
        assertThat(back.bottleneck()).isEqualTo(spec);
        assertThat(back.weights().keySet()).isEqualTo(a.weights().keySet());
        for (String k : a.weights().keySet()) assertThat(back.weights().get(k).data()).as(k).containsExactly(a.weights().get(k).data());
        assertThat(back.provenance()).isEqualTo(a.provenance());
        assertThat(maxAbsDiff(BASE.embed(TEXTS, back), BASE.embed(TEXTS, a))).isZero();
        assertThat(PeftAdapterFormat.toZip(back)).isEqualTo(PeftAdapterFormat.toZip(a));
    }

    private static Adapter houlsby() {
        BottleneckSpec spec = new BottleneckSpec(Architecture.HOULSBY, Placement.SEQUENTIAL, 16);
        return BottleneckTest.adapter(spec, BottleneckTest.trainedLike(spec, 4));
    }

    private static Map<String, byte[]> edit(Map<String, byte[]> files, Consumer<ObjectNode> config) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = (ObjectNode) json.readTree(files.get(PeftAdapterFormat.CONFIG));
        config.accept(c);
        Map<String, byte[]> out = new TreeMap<>(files);
        out.put(PeftAdapterFormat.CONFIG, json.writeValueAsBytes(c));
        return out;
    }

    @Test
    void writesItsOwnConfigWhichPeftAndTheImporterRefuseAndReadsItStrictly() throws Exception {
        Adapter a = houlsby();
        Map<String, byte[]> files = PeftAdapterFormat.toFiles(a);
        JsonNode c = new ObjectMapper().readTree(files.get(PeftAdapterFormat.CONFIG));
        assertThat(c.get("peft_type").textValue()).isEqualTo("LAMINA_BOTTLENECK");
        assertThat(c.get("architecture").textValue()).isEqualTo("houlsby");
        assertThat(c.get("placement").textValue()).isEqualTo("sequential");
        assertThat(c.get("reduction_factor").intValue()).isEqualTo(16);
        assertThat(c.get("bottleneck_size").intValue()).isEqualTo(24);
        assertThat(c.get("non_linearity").textValue()).isEqualTo("gelu");
        assertThat(c.get("init_weights").textValue()).isEqualTo("zero_up");
        Map<String, HostTensor> tensors = Safetensors.read(files.get(PeftAdapterFormat.WEIGHTS)).tensors();
        assertThat(tensors).hasSize(6 * 2 * 4);
        assertThat(tensors.get("base_model.model.encoder.layer.2.output.adapter.up.weight").shape()).containsExactly(384, 24);
        assertThat(PeftAdapterFormat.fromFiles(files).weights().keySet()).isEqualTo(a.weights().keySet());

        // not a PEFT adapter: the PEFT importers refuse it, naming what it is
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(zip)) {
            for (String name : List.of(PeftAdapterFormat.CONFIG, PeftAdapterFormat.WEIGHTS)) {
                z.putNextEntry(new ZipEntry(name));
                z.write(files.get(name));
                z.closeEntry();
            }
        }
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(zip.toByteArray(), 6, 384, 1536)).hasMessageContaining("is a Lamina bottleneck adapter, not a PEFT adapter");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(zip.toByteArray(), 6, 384)).hasMessageContaining("cannot be imported as a LoRA");

        // strict reading of Lamina's own config
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(edit(files, x -> x.put("use_residual", true))))
                .hasMessageContaining("unknown field 'use_residual' for peft_type LAMINA_BOTTLENECK");
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(edit(files, x -> x.put("non_linearity", "relu")))).hasMessageContaining("non_linearity");
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(edit(files, x -> x.put("architecture", "compacter"))))
                .hasMessageContaining("architecture 'compacter' is not one of [houlsby, pfeiffer]");
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(edit(files, x -> x.put("bottleneck_size", 48))))
                .hasMessageContaining("bottleneck_size 48 does not match hidden_size 384 / reduction_factor 16 = 24");
        assertThat(PeftAdapterFormat.fromFiles(edit(files, x -> x.remove("bottleneck_size"))).bottleneck()).isEqualTo(a.bottleneck()); // derived, optional
        // the weights must be exactly the spec's: a Pfeiffer config over Houlsby weights, another width, a NaN
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(edit(files, x -> x.put("architecture", "pfeiffer"))))
                .hasMessageContaining("unexpected tensor 'base_model.model.encoder.layer.0.attention.output.adapter.down.bias'");
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(edit(files, x -> {
            x.put("reduction_factor", 8);
            x.remove("bottleneck_size");
        }))).hasMessageContaining("down.bias' has shape [24], expected [48]");
        Map<String, HostTensor> nan = new TreeMap<>(a.weights());
        String key = BottleneckSpec.peftKey(1, Position.ATTENTION, Tensor.UP_BIAS);
        float[] bad = nan.get(key).data().clone();
        bad[3] = Float.NaN;
        nan.put(key, new HostTensor(nan.get(key).shape(), bad));
        Map<String, byte[]> nanFiles = new TreeMap<>(files);
        nanFiles.put(PeftAdapterFormat.WEIGHTS, Safetensors.write(nan, Map.of("format", "pt")));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(nanFiles)).hasMessageContaining("'" + key + "' holds NaN at element 3");
        // and writing refuses weights its spec does not describe
        Map<String, HostTensor> extra = new TreeMap<>(a.weights());
        extra.put("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight", HostTensor.zeros(4, 384));
        assertThatThrownBy(() -> PeftAdapterFormat.toFiles(BottleneckTest.adapter(a.bottleneck(), extra))).hasMessageContaining("is not a bottleneck adapter key");
    }

    @Test
    void mergesRefuseItAndMixedBatchesServeItAlone() {
        Adapter bottleneck = houlsby();
        Adapter lora = AdapterFixtures.randomAdapter(1, LoraSpec.defaults(), 6, 384, bottleneck.head().labels(), BASE.fingerprint());
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(lora, bottleneck), MergeRecipe.of("task_arithmetic", List.of(0.5, 0.5)), Map.of()))
                .hasMessageContaining("adapter 1 is BOTTLENECK").hasMessageContaining("GELU").hasMessageContaining("cannot be merged into W");
        assertThatThrownBy(() -> bottleneck.requireStackableLora("a weighted blend")).hasMessageContaining("non-linear module");
        float[][] rows = new MixedAdapterEncoder(BASE).embed(TEXTS, Arrays.asList(bottleneck, null, bottleneck, null));
        assertThat(maxAbsDiff(new float[][]{rows[0], rows[2]}, BASE.embed(List.of(TEXTS.get(0), TEXTS.get(2)), bottleneck))).isLessThan(1e-5f);
        assertThat(maxAbsDiff(new float[][]{rows[1]}, BASE.embed(List.of(TEXTS.get(1)), null))).isLessThan(1e-6f);
    }
}
