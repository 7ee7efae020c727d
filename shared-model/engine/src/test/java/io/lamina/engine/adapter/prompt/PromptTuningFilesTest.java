package io.lamina.engine.adapter.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.io.PeftFixtures;
import io.lamina.engine.io.Safetensors;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static io.lamina.engine.adapter.prompt.PromptTuningTest.BASE;
import static io.lamina.engine.adapter.prompt.PromptTuningTest.H;
import static io.lamina.engine.adapter.prompt.PromptTuningTest.TEXTS;
import static io.lamina.engine.adapter.prompt.PromptTuningTest.adapter;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Prompt tuning's files: PEFT's PromptTuningConfig and {@code prompt_embeddings}, Lamina round trips and PEFT imports. */
class PromptTuningFilesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = PromptTuningSpec.PEFT_KEY;

    private static HostTensor prompt(int n, long seed, java.util.function.DoubleUnaryOperator exact) {
        Random rnd = new Random(seed);
        float[] d = new float[n * H];
        for (int i = 0; i < d.length; i++) d[i] = (float) exact.applyAsDouble(0.5 * rnd.nextGaussian());
        return new HostTensor(new long[]{n, H}, d);
    }

    @Test
    void roundTripGivesIdenticalEmbeddingsAndPeftsConfig() throws Exception {
        PromptTuningSpec spec = PromptTuningSpec.text(6, "classify this gloss");
        Adapter a = adapter(spec, Map.of(KEY, prompt(6, 1, x -> x)));
        SortedMap<String, byte[]> files = PeftAdapterFormat.toFiles(a);
        JsonNode c = JSON.readTree(files.get(PeftAdapterFormat.CONFIG));
        assertThat(c.get("peft_type").textValue()).isEqualTo("PROMPT_TUNING");
        assertThat(c.get("task_type").textValue()).isEqualTo("FEATURE_EXTRACTION");
        assertThat(c.get("num_virtual_tokens").intValue()).isEqualTo(6);
        assertThat(c.get("token_dim").intValue()).isEqualTo(H);
        assertThat(c.get("num_transformer_submodules").intValue()).isEqualTo(1);
        assertThat(c.get("num_layers").isNull()).isTrue();            // PEFT fills it from the base's config on load
        assertThat(c.get("num_attention_heads").isNull()).isTrue();
        assertThat(c.get("prompt_tuning_init").textValue()).isEqualTo("TEXT");
        assertThat(c.get("prompt_tuning_init_text").textValue()).isEqualTo("classify this gloss");
        assertThat(c.get("tokenizer_name_or_path").textValue()).isEqualTo(BASE.id());
        assertThat(c.get("inference_mode").booleanValue()).isTrue();
        assertThat(c.get("base_model_name_or_path").textValue()).isEqualTo(BASE.id());
        Map<String, HostTensor> stored = Safetensors.read(files.get(PeftAdapterFormat.WEIGHTS)).tensors();
        assertThat(stored).containsOnlyKeys(KEY);
        assertThat(stored.get(KEY).shape()).containsExactly(6, H);
        assertThat(JSON.readTree(files.get(PeftAdapterFormat.LAMINA)).has("num_layers")).isFalse();

        Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(a));
        assertThat(back.kind()).isEqualTo(AdapterKind.PROMPT_TUNING);
        assertThat(back.prompt()).isEqualTo(spec);
        assertThat(back.weights()).isEqualTo(a.weights());
        assertThat(maxAbsDiff(BASE.embed(TEXTS, back), BASE.embed(TEXTS, a))).isZero();
        assertThat(PeftAdapterFormat.toZip(back)).isEqualTo(PeftAdapterFormat.toZip(a));
        // RANDOM: no init text, no tokenizer
        JsonNode r = JSON.readTree(PeftAdapterFormat.toFiles(adapter(PromptTuningSpec.random(2), Map.of(KEY, prompt(2, 2, x -> x)))).get(PeftAdapterFormat.CONFIG));
        assertThat(r.get("prompt_tuning_init").textValue()).isEqualTo("RANDOM");
        assertThat(r.get("prompt_tuning_init_text").isNull()).isTrue();
        assertThat(r.get("tokenizer_name_or_path").isNull()).isTrue();

        // shapes and values are checked on reading and writing
        SortedMap<String, byte[]> bad = new TreeMap<>(files);
        float[] nan = a.weights().get(KEY).data().clone();
        nan[7] = Float.NaN;
        bad.put(PeftAdapterFormat.WEIGHTS, Safetensors.write(Map.of(KEY, new HostTensor(new long[]{6, H}, nan)), Map.of("format", "pt")));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(bad)).hasMessage(PeftAdapterFormat.WEIGHTS + ": 'prompt_embeddings' holds NaN at element 7");
        bad.put(PeftAdapterFormat.WEIGHTS, Safetensors.write(Map.of(KEY, new HostTensor(new long[]{5, H}, new float[5 * H])), Map.of("format", "pt")));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(bad)).hasMessage(PeftAdapterFormat.WEIGHTS + ": 'prompt_embeddings' has shape [5, 384], expected [6, 384]");
        bad.put(PeftAdapterFormat.WEIGHTS, Safetensors.write(Map.of(KEY, a.weights().get(KEY), "base_model.model.pooler.dense.weight", new HostTensor(new long[]{1}, new float[1])),
                Map.of("format", "pt")));
        assertThatThrownBy(() -> PeftAdapterFormat.fromFiles(bad))
                .hasMessage(PeftAdapterFormat.WEIGHTS + ": unexpected tensor 'base_model.model.pooler.dense.weight' (6 virtual tokens of width 384)");
        assertThatThrownBy(() -> PeftAdapterFormat.toFiles(adapter(spec, Map.of(KEY, prompt(5, 3, x -> x)))))
                .hasMessage("adapter weight 'prompt_embeddings' has shape [5, 384], expected [6, 384]");
    }

    private static byte[] peftZip(ObjectNode config, byte[] weights) throws Exception {
        return PeftFixtures.zip(Map.of(PeftAdapterFormat.CONFIG, JSON.writeValueAsBytes(config), PeftAdapterFormat.WEIGHTS, weights));
    }

    /** adapter_config.json as PEFT 0.17 saves a PromptTuningConfig for a BERT encoder (all fields, base geometry filled in). */
    private static ObjectNode peftConfig(int n, Consumer<ObjectNode> edit) {
        ObjectNode c = JSON.createObjectNode();
        c.putNull("auto_mapping");
        c.put("base_model_name_or_path", "sentence-transformers/all-MiniLM-L6-v2");
        c.put("inference_mode", true);
        c.putNull("modules_to_save");
        c.put("num_attention_heads", 12);
        c.put("num_layers", 6);
        c.put("num_transformer_submodules", 1);
        c.put("num_virtual_tokens", n);
        c.put("peft_type", "PROMPT_TUNING");
        c.put("peft_version", "0.17.1");
        c.put("prompt_tuning_init", "TEXT");
        c.put("prompt_tuning_init_text", "Classify the gloss:");
        c.putNull("revision");
        c.put("task_type", "FEATURE_EXTRACTION");
        c.put("token_dim", H);
        c.putNull("tokenizer_kwargs");
        c.put("tokenizer_name_or_path", "sentence-transformers/all-MiniLM-L6-v2");
        edit.accept(c);
        return c;
    }

    @Test
    void importsPeftPromptTuningInF32F16AndBf16AndRefusesWhatItCannotApply() throws Exception {
        HostTensor half = prompt(8, 4, PeftFixtures::exactF16);
        byte[] f16 = PeftFixtures.safetensors(Map.of(KEY, half), "F16");
        PeftAdapterFormat.PeftImport imported = PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> { }), f16), 6, H, 1536);
        assertThat(imported.kind()).isEqualTo(AdapterKind.PROMPT_TUNING);
        assertThat(imported.prompt()).isEqualTo(PromptTuningSpec.text(8, "Classify the gloss:"));
        assertThat(imported.weights()).containsOnlyKeys(KEY);
        assertThat(imported.weights().get(KEY).data()).containsExactly(half.data());
        assertThat(imported.details()).containsEntry("peft-version", "0.17.1").containsEntry("task-type", "FEATURE_EXTRACTION");
        assertThat(imported.size()).isEqualTo(8);
        assertThat(imported.targetModules()).isEmpty();
        Adapter asAdapter = imported.toAdapter(adapter(PromptTuningSpec.random(1), Map.of(KEY, prompt(1, 0, x -> x))).head(), BASE.id(), BASE.fingerprint(),
                new AdapterProvenance("imported", imported.details()));
        assertThat(maxAbsDiff(BASE.embed(TEXTS, asAdapter), BASE.embed(TEXTS, adapter(imported.prompt(), Map.of(KEY, half))))).isZero();

        HostTensor brain = prompt(8, 5, PeftFixtures::exactBf16);
        assertThat(PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> { }), PeftFixtures.safetensors(Map.of(KEY, brain), "BF16")), 6, H, 1536)
                .weights().get(KEY).data()).containsExactly(brain.data());
        byte[] f32 = PeftFixtures.safetensors(Map.of(KEY, brain), "F32");
        // PEFT's RANDOM default when the field is absent; an init text beside another init is ignored, as PEFT ignores it
        assertThat(PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> c.remove("prompt_tuning_init")), f32), 6, H, 1536).prompt())
                .isEqualTo(PromptTuningSpec.random(8));
        assertThat(PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> c.put("prompt_tuning_init", "SAMPLE_VOCAB")), f32), 6, H, 1536).prompt())
                .isEqualTo(new PromptTuningSpec(8, PromptTuningSpec.Init.SAMPLE_VOCAB, null));

        // wrong base, wrong shapes, values, options
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> { }), f32), 12, 768, 3072))
                .hasMessage(PeftAdapterFormat.CONFIG + ": token_dim 384 does not match the base model's hidden size 768");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> c.remove("token_dim")), f32), 12, 768, 3072))
                .hasMessage(PeftAdapterFormat.CONFIG + ": num_layers 6 does not match the base model's 12 layers");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> { c.remove("token_dim"); c.remove("num_layers"); }), f32), 12, 768, 3072))
                .hasMessage(PeftAdapterFormat.WEIGHTS + ": 'prompt_embeddings' has shape [8, 384], expected [8, 768]");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peftZip(peftConfig(10, c -> { }), f32), 6, H, 1536))
                .hasMessage(PeftAdapterFormat.WEIGHTS + ": 'prompt_embeddings' has shape [8, 384], expected [10, 384]");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peftZip(peftConfig(4, c -> c.put("num_transformer_submodules", 2)), f32), 6, H, 1536))
                .hasMessage(PeftAdapterFormat.CONFIG + ": unsupported num_transformer_submodules=2, only 1 (an encoder's prompt; 2 is for encoder-decoder models) is supported");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> c.putArray("modules_to_save").add("classifier")), f32), 6, H, 1536))
                .hasMessage(PeftAdapterFormat.CONFIG + ": unsupported modules_to_save=[\"classifier\"], only null is supported");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> c.put("prompt_tuning_init", "WORDS")), f32), 6, H, 1536))
                .hasMessage(PeftAdapterFormat.CONFIG + ": prompt_tuning_init 'WORDS' is not one of [RANDOM, TEXT, SAMPLE_VOCAB]");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> c.putNull("prompt_tuning_init_text")), f32), 6, H, 1536))
                .hasMessage(PeftAdapterFormat.CONFIG + ": prompt_tuning_init TEXT needs a non-blank prompt_tuning_init_text");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> c.remove("num_virtual_tokens")), f32), 6, H, 1536))
                .hasMessage(PeftAdapterFormat.CONFIG + ": 'num_virtual_tokens' must be an integer, got null");
        float[] withInf = brain.data().clone();
        withInf[H + 3] = Float.POSITIVE_INFINITY;
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> { }),
                PeftFixtures.safetensors(Map.of(KEY, new HostTensor(new long[]{8, H}, withInf)), "BF16")), 6, H, 1536))
                .hasMessage(PeftAdapterFormat.WEIGHTS + ": 'prompt_embeddings' holds Infinity at element " + (H + 3));
        assertThatThrownBy(() -> PeftAdapterFormat.importPeft(peftZip(peftConfig(8, c -> c.put("peft_type", "P_TUNING")), f32), 6, H, 1536))
                .hasMessage(PeftAdapterFormat.CONFIG + ": peft_type 'P_TUNING' cannot be imported (importable: LORA, IA3, LOKR, PROMPT_TUNING)");
        assertThatThrownBy(() -> PeftAdapterFormat.importPeftZip(peftZip(peftConfig(8, c -> { }), f32), 6, H))
                .hasMessageContaining("cannot be imported as a LoRA");
    }
}
