package io.lamina.engine.model;

import io.lamina.engine.io.Safetensors;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A BERT-family base model from a Hugging Face directory. The fixture is built from the formats'
 * specifications: MiniLM's own weights under Hugging Face's BERT names (with the {@code bert.}
 * prefix a {@code BertFor…} checkpoint has), a {@code config.json} and the tokenizer.
 */
class HuggingFaceBaseModelTest {
    private static void fixture(Path dir, boolean prefixed) throws Exception {
        byte[] onnx;
        try (InputStream in = BaseModel.class.getResourceAsStream(BaseModel.ONNX_RESOURCE)) {
            onnx = in.readAllBytes();
        }
        Map<String, HostTensor> weights = new TreeMap<>();
        OnnxInitializers.parse(onnx).namedFloatTensors().forEach((k, v) -> weights.put(prefixed ? "bert." + k : k, v));
        Files.createDirectories(dir);
        Files.write(dir.resolve("model.safetensors"), Safetensors.write(weights, Map.of("format", "pt")));
        Files.writeString(dir.resolve("config.json"), """
                {"_name_or_path": "local/minilm-copy", "model_type": "bert", "architectures": ["BertModel"],
                 "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536,
                 "hidden_act": "gelu", "max_position_embeddings": 512, "layer_norm_eps": 1e-12, "vocab_size": 30522}""");
        try (InputStream in = BaseModel.class.getResourceAsStream(BaseModel.TOKENIZER_RESOURCE)) {
            Files.write(dir.resolve("tokenizer.json"), in.readAllBytes());
        }
    }

    @Test
    void loadsAndEmbedsExactlyAsTheBundledModel(@TempDir Path dir) throws Exception {
        fixture(dir.resolve("m"), true);
        BaseModel hf = BaseModel.fromHuggingFaceDirectory(dir.resolve("m"));
        assertThat(hf.id()).isEqualTo("local/minilm-copy");
        assertThat(hf.layers()).isEqualTo(6);
        assertThat(hf.fingerprint()).startsWith("sha256:").isNotEqualTo(BaseModel.miniLm().fingerprint());
        List<String> texts = List.of("a cat on a mat", "the quarterly report was late");
        float[][] a = hf.embed(texts, null), b = BaseModel.miniLm().embed(texts, null);
        for (int i = 0; i < texts.size(); i++) {
            for (int j = 0; j < a[i].length; j++) assertThat(a[i][j]).isCloseTo(b[i][j], org.assertj.core.data.Offset.offset(1e-6f));
        }
    }

    @Test
    void refusesPickleOtherArchitecturesAndMissingFiles(@TempDir Path dir) throws Exception {
        Path pickle = Files.createDirectories(dir.resolve("pickle"));
        Files.write(pickle.resolve("pytorch_model.bin"), new byte[]{(byte) 0x80, 2});
        assertThatThrownBy(() -> BaseModel.fromHuggingFaceDirectory(pickle)).hasMessageContaining("pickle");
        Path gpt = dir.resolve("gpt");
        fixture(gpt, false);
        Files.writeString(gpt.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
        assertThatThrownBy(() -> BaseModel.fromHuggingFaceDirectory(gpt)).hasMessageContaining("model_type 'gpt2' is not supported");
        Files.delete(gpt.resolve("tokenizer.json"));
        Files.writeString(gpt.resolve("config.json"), "{\"model_type\": \"bert\"}");
        assertThatThrownBy(() -> BaseModel.fromHuggingFaceDirectory(gpt)).hasMessageContaining("tokenizer.json");
    }

    @Test
    void integerBuffersAreCheckedAndSkipped() {
        // {"ids": I64 [2], "w": F32 [1]}: 16 + 4 bytes of data
        String header = "{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(8 + h.length + 20).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h).putLong(0).putLong(1).putFloat(2.5f);
        byte[] file = buf.array();
        assertThat(Safetensors.readFloatTensors(file).tensors()).containsOnlyKeys("w");
        assertThat(Safetensors.readFloatTensors(file).tensors().get("w").data()).containsExactly(2.5f);
        assertThatThrownBy(() -> Safetensors.read(file)).hasMessageContaining("unsupported dtype 'I64'");
    }
}
