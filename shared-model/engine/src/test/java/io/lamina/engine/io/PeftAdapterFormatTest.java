package io.lamina.engine.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PeftAdapterFormatTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final LoraSpec SPEC = new LoraSpec(4, 8f, 0.1f, List.of("query", "value"));

    private static Adapter adapter() {
        return AdapterFixtures.randomAdapter(7, SPEC, 2, 8, List.of("cat", "dog", "eel"), "sha256:base");
    }

    private static void assertSameAdapter(Adapter actual, Adapter expected) {
        assertThat(actual.kind()).isEqualTo(expected.kind());
        assertThat(actual.spec()).isEqualTo(expected.spec());
        assertThat(actual.weights()).isEqualTo(expected.weights());
        assertThat(actual.head().labels()).isEqualTo(expected.head().labels());
        assertThat(actual.head().prototypes()).isDeepEqualTo(expected.head().prototypes());
        assertThat(actual.head().scale()).isEqualTo(expected.head().scale());
        assertThat(actual.baseModelId()).isEqualTo(expected.baseModelId());
        assertThat(actual.baseFingerprint()).isEqualTo(expected.baseFingerprint());
        assertThat(actual.provenance()).isEqualTo(expected.provenance());
    }

    private static SortedMap<String, byte[]> files() {
        return new TreeMap<>(PeftAdapterFormat.toFiles(adapter()));
    }

    private static byte[] editJson(byte[] json, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        ObjectNode n = (ObjectNode) JSON.readTree(json);
        edit.accept(n);
        return JSON.writeValueAsBytes(n);
    }

    /** A PEFT directory as PEFT writes it for a LoRA: config, safetensors weights, model card. */
    private static byte[] peftZip(Map<String, byte[]> overrides) throws IOException {
        SortedMap<String, byte[]> files = new TreeMap<>(PeftAdapterFormat.toFiles(adapter()));
        files.remove(PeftAdapterFormat.HEAD);
        files.remove(PeftAdapterFormat.LAMINA);
        files.put("README.md", "---\nlibrary_name: peft\n---\n".getBytes(StandardCharsets.UTF_8));
        files.putAll(overrides);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (var zip = new java.util.zip.ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                zip.putNextEntry(new java.util.zip.ZipEntry(e.getKey()));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
        return out.toByteArray();
    }

    @Test
    void importsAPeftLoraDirectoryAndRefusesWhatItCannotApply() throws IOException {
        PeftAdapterFormat.PeftLora imported = PeftAdapterFormat.importPeftZip(peftZip(Map.of()), 2, 8);
        assertThat(imported.spec()).isEqualTo(SPEC);
        assertThat(imported.weights()).isEqualTo(adapter().weights());
        assertThat(imported.details()).containsEntry("base-model-name-or-path", "sentence-transformers/all-MiniLM-L6-v2");

        byte[] config = PeftAdapterFormat.toFiles(adapter()).get(PeftAdapterFormat.CONFIG);
        PeftAdapterFormat.PeftLora rank = PeftAdapterFormat.importPeftZip(peftZip(Map.of(PeftAdapterFormat.CONFIG,
                editJson(config, c -> c.put("use_rslora", true)))), 2, 8);
        assertThat(rank.spec().rslora()).isTrue();
        assertThat(rank.spec().scaling()).isEqualTo((float) (8 / Math.sqrt(4)));
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(peftZip(Map.of(PeftAdapterFormat.CONFIG,
                editJson(config, c -> c.put("use_rslora", "yes")))), 2, 8)).hasMessageContaining("use_rslora must be true or false");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(peftZip(Map.of()), 6, 384))
                .hasMessageContaining("has shape").hasMessageContaining("expected [4, 384]");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(peftZip(Map.of("adapter_model.bin", new byte[]{(byte) 0x80, 2})), 2, 8))
                .hasMessageContaining("pickle");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(peftZip(Map.of(PeftAdapterFormat.CONFIG,
                editJson(config, c -> c.put("use_dora", true)))), 2, 8)).hasMessageContaining("missing LoRA weight").hasMessageContaining("lora_magnitude_vector");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(peftZip(Map.of(PeftAdapterFormat.CONFIG,
                editJson(config, c -> c.put("use_dora", "yes")))), 2, 8)).hasMessageContaining("use_dora must be true or false");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(peftZip(Map.of(PeftAdapterFormat.CONFIG,
                editJson(config, c -> c.put("peft_type", "IA3")))), 2, 8)).hasMessageContaining("peft_type 'IA3' cannot be imported");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(peftZip(Map.of(PeftAdapterFormat.CONFIG,
                editJson(config, c -> c.putArray("target_modules").add("pooler.dense")))), 2, 8)).hasMessageContaining("entry 'pooler.dense' matches no linear layer");
        // PEFT's suffix matching: "dense" selects the three dense layers of each BERT layer, which need the FFN width
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(peftZip(Map.of(PeftAdapterFormat.CONFIG,
                editJson(config, c -> c.putArray("target_modules").add("dense")))), 2, 8)).hasMessageContaining("LoRA on 'intermediate.dense' needs the base's FFN width");
        Map<String, HostTensor> poisoned = new TreeMap<>(adapter().weights());
        String key = poisoned.keySet().iterator().next();
        float[] d = poisoned.get(key).data().clone();
        d[3] = Float.NaN;
        poisoned.put(key, new HostTensor(poisoned.get(key).shape(), d));
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(peftZip(Map.of(PeftAdapterFormat.WEIGHTS,
                Safetensors.write(poisoned, Map.of("format", "pt")))), 2, 8)).hasMessageContaining("holds NaN at element 3");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(peftZip(Map.of("../evil", new byte[1])), 2, 8))
                .hasMessageContaining("unexpected entry '../evil'");
    }

    @Test
    void anImportedAdapterKeepsItsPeftVersionOnExportAndLaminasOwnClaimNone() throws IOException {
        byte[] config = PeftAdapterFormat.toFiles(adapter()).get(PeftAdapterFormat.CONFIG);
        assertThat(new String(config, java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("peft_version");
        PeftAdapterFormat.PeftImport imported = PeftAdapterFormat.importPeft(peftZip(Map.of(PeftAdapterFormat.CONFIG,
                editJson(config, c -> c.put("peft_version", "0.13.2")))), 2, 8, 1);
        assertThat(imported.details()).containsEntry("peft-version", "0.13.2");
        Adapter back = imported.toAdapter(adapter().head(), adapter().baseModelId(), adapter().baseFingerprint(),
                new io.lamina.engine.adapter.AdapterProvenance("imported", imported.details()));
        byte[] exported = PeftAdapterFormat.toFiles(back).get(PeftAdapterFormat.CONFIG);
        assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(exported).path("peft_version").asText()).isEqualTo("0.13.2");
    }

    @Test
    void roundTripsBasePrototypesAndTheTaskDescriptor() {
        Adapter plain = adapter();
        float[][] base = {new float[8], new float[8], new float[8]};
        base[1][3] = 1f;
        float[][] points = new float[10][8];
        for (int i = 0; i < points.length; i++) points[i][i % 8] = i;
        Adapter a = plain.withHead(plain.head().withBasePrototypes(base))
                .withDescriptor(io.lamina.engine.continual.TaskDescriptor.fit(points, 3));
        Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(a));
        assertSameAdapter(back, a);
        assertThat(back.head().basePrototypes()).isDeepEqualTo(base);
        assertThat(back.descriptor().mean()).isEqualTo(a.descriptor().mean());
        assertThat(back.descriptor().components()).isDeepEqualTo(a.descriptor().components());
        assertThat(back.descriptor().lossMean()).isEqualTo(a.descriptor().lossMean());
        assertThat(back.descriptor().lossStd()).isEqualTo(a.descriptor().lossStd());
        // an adapter without them reads back without them
        Adapter none = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(plain));
        assertThat(none.head().basePrototypes()).isNull();
        assertThat(none.descriptor()).isNull();
    }

    @Test
    void roundTripsThroughFilesZipAndDirectory(@TempDir Path dir) throws IOException {
        Adapter a = adapter();
        assertSameAdapter(PeftAdapterFormat.fromFiles(PeftAdapterFormat.toFiles(a)), a);
        assertSameAdapter(PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(a)), a);
        PeftAdapterFormat.writeDirectory(a, dir.resolve("out"));
        assertSameAdapter(PeftAdapterFormat.readDirectory(dir.resolve("out")), a);
    }

    @Test
    void writesPeftConfigAndExactlyTheLoraWeights() throws IOException {
        SortedMap<String, byte[]> files = files();
        assertThat(files).containsOnlyKeys("adapter_config.json", "adapter_model.safetensors", "lamina_head.safetensors", "lamina_adapter.json");
        JsonNode c = JSON.readTree(files.get("adapter_config.json"));
        assertThat(c.get("peft_type").asText()).isEqualTo("LORA");
        assertThat(c.get("r").asInt()).isEqualTo(4);
        assertThat(c.get("lora_alpha").asDouble()).isEqualTo(8.0);
        assertThat((float) c.get("lora_dropout").asDouble()).isEqualTo(0.1f);
        assertThat(c.get("target_modules").toString()).isEqualTo("[\"query\",\"value\"]");
        assertThat(c.get("bias").asText()).isEqualTo("none");
        assertThat(c.get("base_model_name_or_path").asText()).isEqualTo("sentence-transformers/all-MiniLM-L6-v2");
        assertThat(c.get("task_type").asText()).isEqualTo("FEATURE_EXTRACTION");
        assertThat(c.get("fan_in_fan_out").asBoolean(true)).isFalse();
        assertThat(c.get("init_lora_weights").asBoolean(false)).isTrue();
        assertThat(c.get("use_rslora").asBoolean(true)).isFalse();
        assertThat(c.get("use_dora").asBoolean(true)).isFalse();
        assertThat(c.get("inference_mode").asBoolean(false)).isTrue();
        for (String nullField : List.of("modules_to_save", "layers_to_transform", "revision")) {
            assertThat(c.has(nullField)).as(nullField).isTrue();
            assertThat(c.get(nullField).isNull()).as(nullField).isTrue();
        }
        Map<String, HostTensor> w = Safetensors.read(files.get("adapter_model.safetensors")).tensors();
        assertThat(w).hasSize(2 * 2 * 2);
        assertThat(w.get("base_model.model.encoder.layer.1.attention.self.value.lora_A.weight").shape()).containsExactly(4, 8);
        assertThat(w.get("base_model.model.encoder.layer.1.attention.self.value.lora_B.weight").shape()).containsExactly(8, 4);
        HostTensor protos = Safetensors.read(files.get("lamina_head.safetensors")).tensors().get("prototypes");
        assertThat(protos.shape()).containsExactly(3, 8);
        JsonNode m = JSON.readTree(files.get("lamina_adapter.json"));
        assertThat(m.get("head").get("labels").toString()).isEqualTo("[\"cat\",\"dog\",\"eel\"]");
        assertThat(m.get("base_fingerprint").asText()).isEqualTo("sha256:base");
        assertThat(m.get("provenance").get("method").asText()).isEqualTo("trained");
        assertThat(m.get("provenance").get("details").get("seed").asText()).isEqualTo("7");
        assertThat(new String(files.get("lamina_adapter.json"), StandardCharsets.UTF_8)).doesNotContain("\r");
    }

    @Test
    void zipIsDeterministicWithFixedOrderAndTimes() throws IOException {
        byte[] z1 = PeftAdapterFormat.toZip(adapter());
        byte[] z2 = PeftAdapterFormat.toZip(adapter());
        assertThat(z1).isEqualTo(z2);
        List<String> names = new ArrayList<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(z1))) {
            ZipEntry e;
            while ((e = in.getNextEntry()) != null) {
                names.add(e.getName());
                assertThat(e.getTimeLocal()).isEqualTo(LocalDateTime.of(1980, 1, 1, 0, 0));
            }
        }
        assertThat(names).isEqualTo(PeftAdapterFormat.FILE_NAMES);
        Adapter other = AdapterFixtures.randomAdapter(8, SPEC, 2, 8, List.of("cat", "dog", "eel"), "sha256:base");
        assertThat(PeftAdapterFormat.toZip(other)).isNotEqualTo(z1);
    }

    @Test
    void rejectsMissingOrUnknownFiles() {
        SortedMap<String, byte[]> f = files();
        f.remove("adapter_config.json");
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing adapter_config.json");
        SortedMap<String, byte[]> g = files();
        g.put("README.md", new byte[1]);
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(g))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unexpected file 'README.md'");
    }

    @Test
    void rejectsUnsupportedConfig() throws IOException {
        SortedMap<String, byte[]> f = files();
        f.put("adapter_config.json", editJson(f.get("adapter_config.json"), n -> n.put("peft_type", "PREFIX_TUNING")));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unsupported peft_type 'PREFIX_TUNING'");
        f.put("adapter_config.json", editJson(files().get("adapter_config.json"), n -> n.put("peft_type", "IA3")));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("kind 'LORA' does not match peft_type 'IA3'");
        // DoRA is read, and then needs its magnitude vectors
        f.put("adapter_config.json", editJson(files().get("adapter_config.json"), n -> n.put("use_dora", true)));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing LoRA weight").hasMessageContaining("lora_magnitude_vector");
        f.put("adapter_config.json", editJson(files().get("adapter_config.json"), n -> n.put("target_modules", "query|value")));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("target_modules 'query|value' matches no linear layer");
        f.put("adapter_config.json", editJson(files().get("adapter_config.json"), n -> n.putArray("target_modules").add("dense")));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs intermediate_size");
        f.put("adapter_config.json", "{not json".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adapter_config.json is not valid JSON");
    }

    @Test
    void rejectsRankOrTargetsThatDoNotMatchTheWeights() throws IOException {
        SortedMap<String, byte[]> f = files();
        f.put("adapter_config.json", editJson(f.get("adapter_config.json"), n -> n.put("r", 8)));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("adapter_model.safetensors: 'base_model.model.encoder.layer.0.attention.self.query.lora_A.weight' has shape [4, 8], expected [8, 8]");
        f.put("adapter_config.json", editJson(files().get("adapter_config.json"), n -> n.putArray("target_modules").add("query").add("key").add("value")));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing LoRA weight 'base_model.model.encoder.layer.0.attention.self.key.lora_A.weight'");
        f.put("adapter_config.json", editJson(files().get("adapter_config.json"), n -> n.putArray("target_modules").add("query")));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unexpected tensor").hasMessageContaining("value.lora_A");
    }

    @Test
    void rejectsMissingWeightAndHeadMismatch() {
        SortedMap<String, byte[]> f = files();
        Map<String, HostTensor> w = new TreeMap<>(Safetensors.read(f.get("adapter_model.safetensors")).tensors());
        w.remove(LoraSpec.peftKey(1, "query", 'B'));
        f.put("adapter_model.safetensors", Safetensors.write(w, Map.of()));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing LoRA weight 'base_model.model.encoder.layer.1.attention.self.query.lora_B.weight'");

        SortedMap<String, byte[]> g = files();
        g.put("lamina_head.safetensors", Safetensors.write(Map.of("prototypes", HostTensor.zeros(2, 8)), Map.of()));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(g))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 prototype rows but lamina_adapter.json has 3 labels");

        SortedMap<String, byte[]> h = files();
        h.put("adapter_model.safetensors", new byte[]{1, 2, 3});
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(h))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("adapter_model.safetensors: safetensors file too short");
    }

    @Test
    void refusesToWriteIncompleteAdapters() {
        Adapter a = adapter();
        Map<String, HostTensor> w = new TreeMap<>(a.weights());
        w.remove(LoraSpec.peftKey(0, "value", 'B'));
        Adapter broken = new Adapter(AdapterKind.LORA, a.spec(), new TreeMap<>(w), a.head(), a.baseModelId(), a.baseFingerprint(), a.provenance());
        assertThatThrownBy(() -> PeftAdapterFormat.toZip(broken))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("missing LoRA weight");
        Map<String, HostTensor> w2 = new TreeMap<>(a.weights());
        w2.put("some.other.weight", HostTensor.zeros(1));
        Adapter extra = new Adapter(AdapterKind.LORA, a.spec(), new TreeMap<>(w2), a.head(), a.baseModelId(), a.baseFingerprint(), a.provenance());
        assertThatThrownBy(() -> PeftAdapterFormat.toZip(extra))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a PEFT LoRA key");
    }

    private static byte[] zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                ze.setMethod(ZipEntry.DEFLATED);
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return out.toByteArray();
    }

    @Test
    void unzipRejectsTraversalUnknownAndDuplicateEntries() throws IOException {
        for (String evil : List.of("../adapter_config.json", "/adapter_config.json", "sub/adapter_config.json", "..\\adapter_config.json", "evil.sh", "adapter_config.json/")) {
            Map<String, byte[]> entries = new TreeMap<>(files());
            entries.put(evil, new byte[]{1});
            assertThatThrownBy(() -> PeftAdapterFormat.fromZip(zip(entries)))
                    .as(evil).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unexpected entry");
        }
        // a duplicate entry, written by hand since ZipOutputStream refuses duplicates
        Map<String, byte[]> twice = new TreeMap<>(files());
        twice.put("adapter_config.jsoX", twice.get("adapter_config.json"));
        byte[] good = zip(twice);
        byte[] dup = new String(good, StandardCharsets.ISO_8859_1).replace("adapter_config.jsoX", "adapter_config.json")
                .getBytes(StandardCharsets.ISO_8859_1);
        assertThat(dup.length).isEqualTo(good.length);
        assertThatThrownBy(() -> PeftAdapterFormat.fromZip(dup))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("entry 'adapter_config.json' twice");
        assertThatThrownBy(() -> PeftAdapterFormat.fromZip("not a zip".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no entries");
    }

    @Test
    void unzipRejectsZipBombs() throws IOException {
        Map<String, byte[]> entries = new TreeMap<>(files());
        entries.put("lamina_adapter.json", new byte[(int) PeftAdapterFormat.MAX_JSON_BYTES + 1]); // compresses to a few KB
        byte[] bomb = zip(entries);
        assertThat(bomb.length).isLessThan(1 << 20);
        assertThatThrownBy(() -> PeftAdapterFormat.fromZip(bomb))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'lamina_adapter.json' exceeds the size limit");
    }
}
