package io.lamina.engine.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterConfig;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.mora.RankGate;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.BertModules;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec;
import io.lamina.engine.adapter.sft.SparseDiff;
import io.lamina.engine.adapter.sft.Sft;
import io.lamina.engine.adapter.sft.SftSpec;
import io.lamina.engine.adapter.ia3.Ia3Spec;
import io.lamina.engine.adapter.lokr.LokrSpec;
import io.lamina.engine.adapter.lokr.SokaSpec;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.lora.LoraVariant;
import io.lamina.engine.adapter.prompt.PromptTuningSpec;
import io.lamina.engine.continual.TaskDescriptor;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.tensor.HostTensor;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * Converts an {@link Adapter} to and from a PEFT adapter directory, held as file name to bytes:
 * <ul>
 *   <li>{@code adapter_config.json}: PEFT's {@code LoraConfig} fields, so {@code PeftModel.from_pretrained} can load it;</li>
 *   <li>{@code adapter_model.safetensors}: exactly the LoRA factors under PEFT key names
 *       ({@link LoraSpec#peftKey}), A as [r, hidden] and B as [hidden, r];</li>
 *   <li>{@code lamina_head.safetensors}: tensor {@code prototypes} [classes, dim]; optionally
 *       {@code base_prototypes} [classes, dim] (class means under the base model, for retrieval) and the
 *       task descriptor {@code descriptor.mean} [dim], {@code descriptor.components} [k, dim],
 *       {@code descriptor.loss} [2] (mean and std of its reconstruction losses);</li>
 *   <li>for a {@link AdapterKind#BOTTLENECK} adapter, {@code adapter_config.json} has {@code peft_type
 *       LAMINA_BOTTLENECK} (which PEFT refuses: it has no bottleneck adapters) and the spec's fields, and the
 *       weights file holds {@link BottleneckSpec#peftKey} tensors ({@link #bottleneckConfigJson});</li>
 *   <li>for a {@link AdapterKind#PROMPT_TUNING} adapter, PEFT's {@code PromptTuningConfig} ({@link #promptConfigJson}) and
 *       PEFT's one tensor {@code prompt_embeddings} {@code [num_virtual_tokens, hidden]}; {@code lamina_adapter.json} has no
 *       {@code num_layers} (the virtual tokens do not depend on the depth of the encoder);</li>
 *   <li>for an {@link AdapterKind#SFT} adapter, {@code adapter_config.json} has {@code peft_type LAMINA_SFT} (PEFT has
 *       no sparse fine-tuning; composable-sft's own format is a pickled {@code pytorch_diff.bin}, never read here) and
 *       the spec's fields; the weights file holds per linear {@code sft_shape} (I32 {@code [2]}), {@code sft_indices}
 *       (I32 {@code [nnz]}, flat row-major positions, strictly increasing) and {@code sft_values} (F32 {@code [nnz]})
 *       under {@link SftSpec#peftKey} ({@link #sftConfigJson});</li>
 *   <li>{@code lamina_adapter.json}: what PEFT has no place for: labels, head scale, kind, base model id and
 *       fingerprint, layer count and hidden size, provenance.</li>
 * </ul>
 * Output is deterministic (sorted keys, fixed zip entry order and times, stored entries), so equal
 * adapters give equal bytes and therefore equal content addresses. Input is validated completely
 * and every failure is an {@link IllegalArgumentException} naming the file and the problem.
 */
public final class PeftAdapterFormat {

    public static final String CONFIG = "adapter_config.json";
    /** The kinds whose files PEFT itself reads (their {@code peft_type} is a PEFT type). */
    static final java.util.Set<AdapterKind> PEFT_KINDS = java.util.EnumSet.of(AdapterKind.LORA, AdapterKind.IA3, AdapterKind.LOKR, AdapterKind.PROMPT_TUNING);
    public static final String WEIGHTS = "adapter_model.safetensors";
    public static final String HEAD = "lamina_head.safetensors";
    public static final String LAMINA = "lamina_adapter.json";
    /** The files of an adapter directory, in zip order. */
    public static final List<String> FILE_NAMES = List.of(CONFIG, WEIGHTS, HEAD, LAMINA);

    public static final String PROTOTYPES_TENSOR = "prototypes";
    public static final String BASE_PROTOTYPES_TENSOR = "base_prototypes";
    public static final String DESCRIPTOR_MEAN = "descriptor.mean";
    public static final String DESCRIPTOR_COMPONENTS = "descriptor.components";
    public static final String DESCRIPTOR_LOSS = "descriptor.loss";
    private static final java.util.Set<String> HEAD_TENSORS = java.util.Set.of(PROTOTYPES_TENSOR, BASE_PROTOTYPES_TENSOR,
            DESCRIPTOR_MEAN, DESCRIPTOR_COMPONENTS, DESCRIPTOR_LOSS);
    public static final int FORMAT_VERSION = 1;

    /** Largest single file accepted when unzipping or reading a directory. */
    public static final long MAX_FILE_BYTES = 512L * 1024 * 1024;
    /** Largest total of uncompressed bytes accepted when unzipping. */
    public static final long MAX_TOTAL_BYTES = 1024L * 1024 * 1024;
    /** Largest JSON file accepted. */
    public static final long MAX_JSON_BYTES = 16L * 1024 * 1024;

    private static final LocalDateTime ZIP_TIME = LocalDateTime.of(1980, 1, 1, 0, 0, 0);
    private static final Pattern KEY = Pattern.compile(
            "base_model\\.model\\.encoder\\.layer\\.(0|[1-9][0-9]{0,3})\\.(attention\\.self\\.(?:query|key|value)|attention\\.output\\.dense|intermediate\\.dense|output\\.dense)"
                    + "\\.(?:lora_([AB])\\.weight|lora_magnitude_vector)");
    private static final Pattern BOTTLENECK_KEY = Pattern.compile(
            "base_model\\.model\\.encoder\\.layer\\.(0|[1-9][0-9]{0,3})\\.(attention\\.output|output)\\.adapter\\.(down|up)\\.(weight|bias)");
    /** Every field of a {@code LAMINA_BOTTLENECK} {@code adapter_config.json}; any other is refused. */
    static final Set<String> BOTTLENECK_CONFIG_FIELDS = Set.of("architecture", "base_model_name_or_path", "bottleneck_size", "inference_mode",
            "init_weights", "non_linearity", "peft_type", "placement", "reduction_factor", "task_type");
    private static final Pattern IA3_KEY = Pattern.compile(
            "base_model\\.model\\.encoder\\.layer\\.(0|[1-9][0-9]{0,3})\\.([a-z.]+)\\.ia3_l");

    private static final Pattern KRONECKER_KEY = Pattern.compile(
            "base_model\\.model\\.encoder\\.layer\\.(0|[1-9][0-9]{0,3})\\.(attention\\.self\\.(?:query|key|value)|attention\\.output\\.dense|intermediate\\.dense|output\\.dense)"
                    + "\\.(lokr_w[12](?:_[ab])?|soka_[ab]0?)");

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    /** Pretty printing with "\n" line ends on every platform, so bytes do not depend on the OS. */
    private static final ObjectWriter JSON_WRITER = JSON.writer(
            new DefaultPrettyPrinter().withObjectIndenter(new DefaultIndenter("  ", "\n")).withArrayIndenter(new DefaultIndenter("  ", "\n")));

    private PeftAdapterFormat() {
    }

    // ------------------------------------------------------------------ writing

    /** The adapter directory as file name to content. */
    public static SortedMap<String, byte[]> toFiles(Adapter adapter) {
        if (adapter == null) throw new IllegalArgumentException("adapter must not be null");
        if (adapter.kind().isLoraShaped() && adapter.spec() == null) throw new IllegalArgumentException("adapter has no LoRA spec");
        if (adapter.head() == null) throw new IllegalArgumentException("adapter has no head");
        requireText(adapter.baseModelId(), "adapter base model id");
        requireText(adapter.baseFingerprint(), "adapter base fingerprint");
        if (adapter.provenance() == null) throw new IllegalArgumentException("adapter has no provenance");

        float[][] protos = adapter.head().prototypes();
        int dim = protos[0] == null ? -1 : protos[0].length;
        if (dim < 1) throw new IllegalArgumentException("head prototypes must have at least one column");
        // (IA)^3 vectors do not all tell the width; the head's prototypes live in the encoder's hidden space
        Geometry g = adapter.kind() == AdapterKind.IA3 ? ia3GeometryOf(adapter.ia3(), adapter.weights(), dim)
                : adapter.kind().isKronecker() ? kroneckerGeometryOf(adapter, dim)
                : adapter.kind() == AdapterKind.BOTTLENECK ? bottleneckGeometryOf(adapter.bottleneck(), adapter.weights(), dim)
                : adapter.kind() == AdapterKind.PROMPT_TUNING ? promptGeometryOf(adapter.prompt(), adapter.weights(), dim)
                : adapter.kind() == AdapterKind.SFT ? sftGeometryOf(adapter, dim)
                : geometryOf(adapter.spec(), adapter.weights());
        float[] flat = new float[protos.length * dim];
        for (int i = 0; i < protos.length; i++) {
            if (protos[i] == null || protos[i].length != dim) {
                throw new IllegalArgumentException("head prototype row " + i + " has " + (protos[i] == null ? "no" : protos[i].length) + " values, expected " + dim);
            }
            System.arraycopy(protos[i], 0, flat, i * dim, dim);
        }
        for (String label : adapter.head().labels()) requireText(label, "head label");
        if (!Float.isFinite(adapter.head().scale())) throw new IllegalArgumentException("head scale must be finite, got " + adapter.head().scale());

        SortedMap<String, byte[]> files = new TreeMap<>();
        ObjectNode config = adapter.kind() == AdapterKind.IA3 ? ia3ConfigJson(adapter)
                : adapter.kind() == AdapterKind.LOKR ? lokrConfigJson(adapter)
                : adapter.kind() == AdapterKind.SOKA ? sokaConfigJson(adapter)
                : adapter.kind() == AdapterKind.BOTTLENECK ? bottleneckConfigJson(adapter, g.hidden)
                : adapter.kind() == AdapterKind.PROMPT_TUNING ? promptConfigJson(adapter, g.hidden)
                : adapter.kind() == AdapterKind.SFT ? sftConfigJson(adapter) : configJson(adapter);
        // an adapter imported from PEFT keeps the peft_version it came with (Lamina's own adapters claim none)
        String peftVersion = adapter.provenance() == null ? null : adapter.provenance().details().get("peft-version");
        if (peftVersion != null && PEFT_KINDS.contains(adapter.kind())) config.put("peft_version", peftVersion);
        files.put(CONFIG, json(config));
        files.put(WEIGHTS, adapter.kind() == AdapterKind.SFT ? Safetensors.write(adapter.weights(), Map.of("format", "pt"), SftSpec::isIntegerKey)
                : Safetensors.write(adapter.weights(), Map.of("format", "pt")));
        files.put(HEAD, Safetensors.write(headTensors(adapter, flat, dim), Map.of("format", "pt")));
        files.put(LAMINA, json(laminaJson(adapter, g)));
        return files;
    }

    /** The head file's tensors: the prototypes, and the base prototypes and descriptor when the adapter has them. */
    private static Map<String, HostTensor> headTensors(Adapter adapter, float[] prototypes, int dim) {
        Map<String, HostTensor> t = new TreeMap<>();
        int classes = adapter.head().labels().size();
        t.put(PROTOTYPES_TENSOR, new HostTensor(new long[]{classes, dim}, prototypes));
        if (adapter.head().basePrototypes() != null) t.put(BASE_PROTOTYPES_TENSOR, matrix(adapter.head().basePrototypes(), dim, "base prototype"));
        TaskDescriptor d = adapter.descriptor();
        if (d != null) {
            t.put(DESCRIPTOR_MEAN, new HostTensor(new long[]{d.mean().length}, d.mean().clone()));
            t.put(DESCRIPTOR_COMPONENTS, matrix(d.components(), d.mean().length, "descriptor component"));
            t.put(DESCRIPTOR_LOSS, new HostTensor(new long[]{2}, new float[]{d.lossMean(), d.lossStd()}));
        }
        return t;
    }

    private static HostTensor matrix(float[][] rows, int dim, String what) {
        float[] flat = new float[rows.length * dim];
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] == null || rows[i].length != dim) throw new IllegalArgumentException(what + " row " + i + " must have " + dim + " values");
            System.arraycopy(rows[i], 0, flat, i * dim, dim);
        }
        return new HostTensor(new long[]{rows.length, dim}, flat);
    }

    private static float[][] rows(HostTensor t, String name, long expectedRows, int dim) {
        if (t.shape().length != 2 || t.shape()[1] != dim || (expectedRows >= 0 && t.shape()[0] != expectedRows)) {
            throw new IllegalArgumentException(HEAD + ": '" + name + "' has shape " + Arrays.toString(t.shape()) + ", expected ["
                    + (expectedRows >= 0 ? expectedRows : "k") + ", " + dim + "]");
        }
        float[][] out = new float[(int) t.shape()[0]][];
        for (int i = 0; i < out.length; i++) {
            out[i] = Arrays.copyOfRange(t.data(), i * dim, (i + 1) * dim);
            for (float v : out[i]) {
                if (!Float.isFinite(v)) throw new IllegalArgumentException(HEAD + ": '" + name + "' holds a non-finite value");
            }
        }
        return out;
    }

    /** The adapter directory as a deterministic zip (stored entries, fixed order and times). */
    public static byte[] toZip(Adapter adapter) {
        SortedMap<String, byte[]> files = toFiles(adapter);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.setLevel(0);
            for (String name : FILE_NAMES) {
                byte[] content = files.get(name);
                ZipEntry e = new ZipEntry(name);
                e.setMethod(ZipEntry.STORED);
                e.setSize(content.length);
                e.setCompressedSize(content.length);
                CRC32 crc = new CRC32();
                crc.update(content);
                e.setCrc(crc.getValue());
                e.setTimeLocal(ZIP_TIME);
                zip.putNextEntry(e);
                zip.write(content);
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Writes the adapter's files into {@code dir} (created if needed), replacing same-named files. */
    public static void writeDirectory(Adapter adapter, Path dir) throws IOException {
        SortedMap<String, byte[]> files = toFiles(adapter);
        Files.createDirectories(dir);
        for (Map.Entry<String, byte[]> f : files.entrySet()) Files.write(dir.resolve(f.getKey()), f.getValue());
    }

    private static ObjectNode configJson(Adapter a) {
        LoraSpec s = a.spec();
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.putObject("alpha_pattern");
        c.put("base_model_name_or_path", a.baseModelId());
        c.put("bias", "none");
        c.put("fan_in_fan_out", false);
        c.put("inference_mode", true);
        c.put("init_lora_weights", true);
        c.putNull("layers_pattern");
        c.putNull("layers_to_transform");
        c.put("lora_alpha", s.alpha());
        c.put("lora_dropout", s.dropout());
        c.putNull("modules_to_save");
        c.put("peft_type", a.kind().peftType());
        c.put("r", s.rank());
        c.putObject("rank_pattern");
        c.putNull("revision");
        putModules(c, "target_modules", s.targetModules());
        c.put("task_type", "FEATURE_EXTRACTION");
        c.put("use_dora", s.dora());
        c.put("use_rslora", s.rslora());
        return c;
    }

    /**
     * PEFT's {@code IA3Config} fields. Module lists are written the way PEFT reads them (entries match
     * module names by suffix), or as a regular expression (PEFT: full match) when no list can name
     * exactly the wrapped modules (the FFN's {@code output.dense} without {@code attention.output.dense}).
     */
    private static ObjectNode ia3ConfigJson(Adapter a) {
        Ia3Spec s = a.ia3();
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.putNull("auto_mapping");
        c.put("base_model_name_or_path", a.baseModelId());
        c.putNull("exclude_modules");
        c.put("fan_in_fan_out", false);
        putModules(c, "feedforward_modules", s.feedforwardModules());
        c.put("inference_mode", true);
        c.put("init_ia3_weights", true);
        c.putNull("layers_pattern");
        c.putNull("layers_to_transform");
        c.putNull("modules_to_save");
        c.put("peft_type", AdapterKind.IA3.peftType());
        c.putNull("revision");
        putModules(c, "target_modules", s.targetModules());
        c.put("task_type", "FEATURE_EXTRACTION");
        return c;
    }

    /**
     * PEFT's {@code LoKrConfig} fields (PEFT 0.13+ names), in the order PEFT's JSON has them (sorted). Options Lamina
     * does not apply are written as their off values: {@code rank_dropout = module_dropout = 0},
     * {@code use_effective_conv2d = false}, empty patterns.
     */
    private static ObjectNode lokrConfigJson(Adapter a) {
        LokrSpec s = a.lokr();
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("alpha", s.alpha());
        c.putObject("alpha_pattern");
        c.put("base_model_name_or_path", a.baseModelId());
        c.put("decompose_both", s.decomposeBoth());
        c.put("decompose_factor", s.decomposeFactor());
        c.putNull("exclude_modules");
        c.put("inference_mode", true);
        c.put("init_weights", true);
        c.putNull("layers_pattern");
        c.putNull("layers_to_transform");
        c.put("module_dropout", 0.0);
        c.putNull("modules_to_save");
        c.put("peft_type", AdapterKind.LOKR.peftType());
        c.put("r", s.rank());
        c.put("rank_dropout", 0.0);
        c.put("rank_dropout_scale", false);
        c.putObject("rank_pattern");
        c.putNull("revision");
        putModules(c, "target_modules", s.targetModules());
        c.put("task_type", "FEATURE_EXTRACTION");
        c.put("use_effective_conv2d", false);
        return c;
    }

    /** SoKA's settings: not a PEFT type ({@code LAMINA_SOKA}), so PEFT refuses the directory instead of misreading it. */
    private static ObjectNode sokaConfigJson(Adapter a) {
        SokaSpec s = a.soka();
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("base_model_name_or_path", a.baseModelId());
        c.put("decompose_factor", s.decomposeFactor());
        c.put("energy_threshold", s.energyThreshold());
        c.put("inference_mode", true);
        c.put("max_rank", s.maxRank());
        c.put("min_rank", s.minRank());
        c.put("peft_type", AdapterKind.SOKA.peftType());
        putModules(c, "target_modules", s.targetModules());
        c.put("task_type", "FEATURE_EXTRACTION");
        return c;
    }

    /**
     * A bottleneck adapter's config. Not a PEFT config: PEFT has no bottleneck adapters and refuses the
     * {@code peft_type}. Not AdapterHub's either (its {@code adapter_config.json} nests a {@code config} object
     * with {@code mh_adapter}/{@code output_adapter} flags and its weights are {@code pytorch_adapter.bin} under
     * {@code bert.encoder.layer.N.output.adapters.<name>.adapter_down.0.weight}-style keys). {@code bottleneck_size}
     * is derived ({@code hidden / reduction_factor}) and checked on reading; {@code non_linearity} is always
     * {@code gelu} (erf) and {@code init_weights} {@code zero_up}, for readers of the file.
     */
    private static ObjectNode bottleneckConfigJson(Adapter a, int hidden) {
        BottleneckSpec s = a.bottleneck();
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("architecture", s.architecture().name().toLowerCase(java.util.Locale.ROOT));
        c.put("base_model_name_or_path", a.baseModelId());
        c.put("bottleneck_size", s.width(hidden));
        c.put("inference_mode", true);
        c.put("init_weights", "zero_up");
        c.put("non_linearity", "gelu");
        c.put("peft_type", AdapterKind.BOTTLENECK.peftType());
        c.put("placement", s.placement().name().toLowerCase(java.util.Locale.ROOT));
        c.put("reduction_factor", s.reductionFactor());
        c.put("task_type", "FEATURE_EXTRACTION");
        return c;
    }

    /**
     * PEFT's {@code PromptTuningConfig} fields (with {@code PromptLearningConfig}'s and {@code PeftConfig}'s), sorted as
     * PEFT's JSON has them. {@code num_transformer_submodules} is 1 (an encoder); {@code num_layers} and
     * {@code num_attention_heads} are {@code null}, which PEFT fills in from the base model's config when it loads the
     * adapter ({@code _prepare_prompt_learning_config}; prompt tuning does not use them, prefix tuning does): the adapter
     * holds no record of the encoder's depth. {@code tokenizer_name_or_path} is the base model with a TEXT init (PEFT
     * refuses TEXT without one), else {@code null}. No {@code peft_version}, as on the LoRA path.
     */
    private static ObjectNode promptConfigJson(Adapter a, int hidden) {
        PromptTuningSpec s = a.prompt();
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.putNull("auto_mapping");
        c.put("base_model_name_or_path", a.baseModelId());
        c.put("inference_mode", true);
        c.putNull("modules_to_save");
        c.putNull("num_attention_heads");
        c.putNull("num_layers");
        c.put("num_transformer_submodules", 1);
        c.put("num_virtual_tokens", s.numVirtualTokens());
        c.put("peft_type", AdapterKind.PROMPT_TUNING.peftType());
        c.put("prompt_tuning_init", s.init().name());
        if (s.initText() != null) c.put("prompt_tuning_init_text", s.initText());
        else c.putNull("prompt_tuning_init_text");
        c.putNull("revision");
        c.put("task_type", "FEATURE_EXTRACTION");
        c.put("token_dim", hidden);
        c.putNull("tokenizer_kwargs");
        if (s.init() == PromptTuningSpec.Init.TEXT) c.put("tokenizer_name_or_path", a.baseModelId());
        else c.putNull("tokenizer_name_or_path");
        return c;
    }

    /** Every field of a {@code LAMINA_SFT} {@code adapter_config.json}; any other is refused. */
    static final Set<String> SFT_CONFIG_FIELDS = Set.of("base_model_name_or_path", "diff_encoding", "diff_lr_factor", "ft_params_num",
            "ft_params_proportion", "full_ft_epochs", "inference_mode", "l1_reg", "peft_type", "sparse_ft_epochs", "target_modules", "task_type");
    /** {@code diff_encoding} of SFT files: per linear a dense shape, flat row-major int32 positions and float32 values. */
    static final String SFT_DIFF_ENCODING = "flat-row-major-int32";

    /**
     * An SFT's config: Lamina's own ({@code LAMINA_SFT}), so PEFT refuses it; not composable-sft's either (whose diffs
     * are a pickled {@code pytorch_diff.bin} of COO tensors). {@code target_modules} are the maskable linears by
     * Lamina's names ({@link BertModules#MODULES}); the budget is {@code ft_params_num} or {@code ft_params_proportion}
     * (the other null), as composable-sft's arguments.
     */
    private static ObjectNode sftConfigJson(Adapter a) {
        SftSpec s = a.sft();
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("base_model_name_or_path", a.baseModelId());
        c.put("diff_encoding", SFT_DIFF_ENCODING);
        c.put("diff_lr_factor", s.diffLearningRateFactor());
        if (s.ftParamsNum() > 0) c.put("ft_params_num", s.ftParamsNum());
        else c.putNull("ft_params_num");
        if (s.ftParamsProportion() > 0) c.put("ft_params_proportion", s.ftParamsProportion());
        else c.putNull("ft_params_proportion");
        c.put("full_ft_epochs", s.fullFtEpochs());
        c.put("inference_mode", true);
        c.put("l1_reg", s.l1Reg());
        c.put("peft_type", AdapterKind.SFT.peftType());
        c.put("sparse_ft_epochs", s.sparseFtEpochs());
        ArrayNode modules = c.putArray("target_modules");
        s.targetModules().forEach(modules::add);
        c.put("task_type", "FEATURE_EXTRACTION");
        return c;
    }

    /** The settings of a {@code LAMINA_SFT} {@code adapter_config.json}, read strictly (unknown fields refused). */
    private static SftSpec sftSpec(JsonNode config) {
        for (Iterator<String> it = config.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!SFT_CONFIG_FIELDS.contains(f)) {
                throw new IllegalArgumentException(CONFIG + ": unknown field '" + f + "' for peft_type " + AdapterKind.SFT.peftType() + " (known: " + new TreeSet<>(SFT_CONFIG_FIELDS) + ")");
            }
        }
        JsonNode enc = config.get("diff_encoding");
        if (enc != null && !enc.isNull() && !SFT_DIFF_ENCODING.equals(enc.asText())) {
            throw new IllegalArgumentException(CONFIG + ": diff_encoding '" + enc.asText() + "' is not supported (supported: " + SFT_DIFF_ENCODING + ")");
        }
        JsonNode modulesNode = config.get("target_modules");
        if (modulesNode == null || !modulesNode.isArray()) throw new IllegalArgumentException(CONFIG + ": an SFT needs 'target_modules' as a list of " + BertModules.MODULES);
        List<String> modules = new ArrayList<>();
        for (JsonNode m : modulesNode) {
            if (!m.isTextual()) throw new IllegalArgumentException(CONFIG + ": target_modules entries must be strings, got " + m);
            modules.add(m.textValue());
        }
        JsonNode num = config.get("ft_params_num"), share = config.get("ft_params_proportion");
        try {
            long k = num == null || num.isNull() ? 0 : (long) intField(config, "ft_params_num", CONFIG);
            double p = share == null || share.isNull() ? 0 : number(config, "ft_params_proportion", CONFIG);
            return new SftSpec(modules, k, p, intField(config, "full_ft_epochs", CONFIG), intField(config, "sparse_ft_epochs", CONFIG),
                    (float) number(config, "l1_reg", CONFIG), (float) number(config, "diff_lr_factor", CONFIG));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().startsWith(CONFIG) ? e.getMessage() : CONFIG + ": " + e.getMessage(), e);
        }
    }

    /**
     * An SFT's diffs checked against a base of {@code layers} layers, width {@code hidden} and FFN width
     * {@code intermediate} (0: unknown, then taken from the diffs and checked consistent).
     */
    private static Geometry sftGeometry(SortedMap<String, SparseDiff> diffs, int layers, int hidden, int intermediate, String where) {
        int diffLayers = 1 + diffs.keySet().stream().mapToInt(Sft::layerOf).max().orElse(-1);
        if (layers > 0 && diffLayers != layers) throw new IllegalArgumentException(where + ": diffs of " + diffLayers + " layers, the adapter says " + layers);
        int inter = intermediate;
        for (Map.Entry<String, SparseDiff> e : diffs.entrySet()) {
            String module = Sft.moduleOf(e.getKey());
            SparseDiff d = e.getValue();
            if (BertModules.usesIntermediate(module) && inter < 1) inter = module.equals("intermediate.dense") ? d.rows() : d.cols();
            int i = Math.max(inter, 1);
            long outF = BertModules.outFeatures(module, hidden, i), inF = BertModules.inFeatures(module, hidden, i);
            if (d.rows() != outF || d.cols() != inF) {
                throw new IllegalArgumentException(where + ": layer " + Sft.layerOf(e.getKey()) + " " + module + " has sft_shape [" + d.rows() + ", " + d.cols()
                        + "], expected [" + outF + ", " + inF + "] (hidden_size " + hidden + (BertModules.usesIntermediate(module) ? ", intermediate_size " + i : "") + ")");
            }
        }
        return new Geometry(diffLayers, hidden, inter);
    }

    private static Geometry sftGeometryOf(Adapter adapter, int hidden) {
        return sftGeometry(Sft.diffs(adapter), 0, hidden, 0, "adapter");
    }

    private static void putModules(ObjectNode c, String field, List<String> modules) {
        boolean ffnOutputAlone = modules.contains("output.dense") && !modules.contains("attention.output.dense");
        if (ffnOutputAlone) {
            List<String> paths = modules.stream().map(m -> Ia3Spec.path(m).replace(".", "\\.")).toList();
            c.put(field, "(.*\\.)?encoder\\.layer\\.\\d+\\.(" + String.join("|", paths) + ")");
            return;
        }
        ArrayNode list = c.putArray(field);
        for (String m : modules) {
            // "output.dense" already matches attention.output.dense by suffix
            if (m.equals("attention.output.dense") && modules.contains("output.dense")) continue;
            list.add(m);
        }
    }

    private static ObjectNode laminaJson(Adapter a, Geometry g) {
        ObjectNode m = JsonNodeFactory.instance.objectNode();
        m.put("format_version", FORMAT_VERSION);
        m.put("kind", a.kind().name());
        m.put("base_model_id", a.baseModelId());
        m.put("base_fingerprint", a.baseFingerprint());
        if (g.layers > 0) m.put("num_layers", g.layers);  // a prompt-tuning adapter has none
        m.put("hidden_size", g.hidden);
        if (g.intermediate > 0) m.put("intermediate_size", g.intermediate);
        if (a.gate() != null) {
            ObjectNode gate = m.putObject("gate");
            gate.put("temperature", a.gate().temperature());
            gate.put("top_k", a.gate().topK());
            gate.put("prune_threshold", a.gate().pruneThreshold());
        }
        ObjectNode head = m.putObject("head");
        ArrayNode labels = head.putArray("labels");
        a.head().labels().forEach(labels::add);
        head.put("scale", a.head().scale());
        ObjectNode prov = m.putObject("provenance");
        requireText(a.provenance().method(), "provenance method");
        prov.put("method", a.provenance().method());
        ObjectNode details = prov.putObject("details");
        new TreeMap<>(a.provenance().details()).forEach(details::put);
        return m;
    }

    private static byte[] json(JsonNode node) {
        try {
            return JSON_WRITER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ reading

    /** Reads an adapter directory given as file name to content. Unknown file names are rejected. */
    public static Adapter fromFiles(Map<String, byte[]> files) {
        if (files == null) throw new IllegalArgumentException("adapter files must not be null");
        for (String name : files.keySet()) {
            if (!FILE_NAMES.contains(name)) throw new IllegalArgumentException("unexpected file '" + name + "' in adapter, expected only " + FILE_NAMES);
        }
        for (String name : FILE_NAMES) {
            if (files.get(name) == null) throw new IllegalArgumentException("adapter is missing " + name);
        }

        JsonNode config = parseJson(CONFIG, files.get(CONFIG));
        JsonNode meta = parseJson(LAMINA, files.get(LAMINA));

        // adapter_config.json
        String peftType = text(config, "peft_type", CONFIG);
        AdapterKind kind = null;
        for (AdapterKind k : AdapterKind.values()) if (k.peftType().equals(peftType)) kind = k;
        if (kind == null) throw new IllegalArgumentException(CONFIG + ": unsupported peft_type '" + peftType + "'");
        LoraSpec spec = kind.isLoraShaped() ? loraSpec(config) : null;
        Ia3Spec ia3 = kind == AdapterKind.IA3 ? ia3Spec(config) : null;
        BottleneckSpec bottleneck = kind == AdapterKind.BOTTLENECK ? bottleneckSpec(config) : null;
        LokrSpec lokr = kind == AdapterKind.LOKR ? lokrSpec(config) : null;
        SokaSpec soka = kind == AdapterKind.SOKA ? sokaSpec(config) : null;
        PromptTuningSpec prompt = kind == AdapterKind.PROMPT_TUNING ? promptSpec(config) : null;
        SftSpec sft = kind == AdapterKind.SFT ? sftSpec(config) : null;

        // lamina_adapter.json
        int version = intField(meta, "format_version", LAMINA);
        if (version != FORMAT_VERSION) throw new IllegalArgumentException(LAMINA + ": unsupported format_version " + version + ", expected " + FORMAT_VERSION);
        String kindName = text(meta, "kind", LAMINA);
        if (!kindName.equals(kind.name())) throw new IllegalArgumentException(LAMINA + ": kind '" + kindName + "' does not match peft_type '" + peftType + "'");
        String baseModelId = text(meta, "base_model_id", LAMINA);
        String baseFingerprint = text(meta, "base_fingerprint", LAMINA);
        JsonNode configBase = config.get("base_model_name_or_path");
        if (configBase != null && !configBase.isNull() && !baseModelId.equals(configBase.asText())) {
            throw new IllegalArgumentException(CONFIG + ": base_model_name_or_path '" + configBase.asText() + "' does not match " + LAMINA + " base_model_id '" + baseModelId + "'");
        }
        RankGate gate = null;
        JsonNode gateNode = meta.get("gate");
        if (kind == AdapterKind.MORA) {
            if (gateNode == null || !gateNode.isObject()) throw new IllegalArgumentException(LAMINA + ": a MORA adapter needs object 'gate'");
            try {
                gate = new RankGate((float) number(gateNode, "temperature", LAMINA + " gate"), intField(gateNode, "top_k", LAMINA + " gate"),
                        (float) number(gateNode, "prune_threshold", LAMINA + " gate"));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(LAMINA + ": " + e.getMessage(), e);
            }
        } else if (gateNode != null && !gateNode.isNull()) {
            throw new IllegalArgumentException(LAMINA + ": 'gate' belongs to MORA adapters, this one is " + kind);
        }
        if (prompt != null && meta.has("num_layers")) throw new IllegalArgumentException(LAMINA + ": a PROMPT_TUNING adapter has no num_layers");
        int layers = prompt != null ? 1 : intField(meta, "num_layers", LAMINA);
        int hidden = intField(meta, "hidden_size", LAMINA);
        if (layers < 1 || layers > 1000) throw new IllegalArgumentException(LAMINA + ": num_layers must be in [1, 1000], got " + layers);
        if (hidden < 1) throw new IllegalArgumentException(LAMINA + ": hidden_size must be positive, got " + hidden);
        JsonNode headNode = meta.get("head");
        if (headNode == null || !headNode.isObject()) throw new IllegalArgumentException(LAMINA + ": missing object 'head'");
        JsonNode labelsNode = headNode.get("labels");
        if (labelsNode == null || !labelsNode.isArray() || labelsNode.isEmpty()) throw new IllegalArgumentException(LAMINA + ": head.labels must be a non-empty list of strings");
        List<String> labels = new ArrayList<>();
        for (JsonNode l : labelsNode) {
            if (!l.isTextual() || l.textValue().isBlank()) throw new IllegalArgumentException(LAMINA + ": head.labels entries must be non-blank strings, got " + l);
            labels.add(l.textValue());
        }
        double scale = number(headNode, "scale", LAMINA + " head");
        if (!Double.isFinite(scale)) throw new IllegalArgumentException(LAMINA + ": head.scale must be finite");
        JsonNode provNode = meta.get("provenance");
        if (provNode == null || !provNode.isObject()) throw new IllegalArgumentException(LAMINA + ": missing object 'provenance'");
        String method = text(provNode, "method", LAMINA + " provenance");
        JsonNode detailsNode = provNode.get("details");
        Map<String, String> details = new TreeMap<>();
        if (detailsNode != null && !detailsNode.isNull()) {
            if (!detailsNode.isObject()) throw new IllegalArgumentException(LAMINA + ": provenance.details must be an object of strings");
            Iterator<Map.Entry<String, JsonNode>> it = detailsNode.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> d = it.next();
                if (!d.getValue().isTextual()) throw new IllegalArgumentException(LAMINA + ": provenance detail '" + d.getKey() + "' must be a string");
                details.put(d.getKey(), d.getValue().textValue());
            }
        }

        // adapter_model.safetensors: exactly the expected keys, with the expected shapes
        Map<String, HostTensor> weights;
        JsonNode inter = meta.get("intermediate_size");
        int intermediate = inter == null || inter.isNull() ? 0 : intField(meta, "intermediate_size", LAMINA);
        List<String> targets = ia3 != null ? ia3.targetModules() : lokr != null ? lokr.targetModules() : soka != null ? soka.targetModules()
                : spec != null ? spec.targetModules() : sft != null ? sft.targetModules() : List.of();
        boolean needsIntermediate = ia3 != null ? ia3.usesIntermediate() : targets.stream().anyMatch(BertModules::usesIntermediate);
        if (needsIntermediate && intermediate < 1) {
            throw new IllegalArgumentException(LAMINA + ": an adapter on " + targets + " needs intermediate_size");
        }
        if (prompt != null) {
            weights = promptWeights(files.get(WEIGHTS), prompt, config, hidden, -1);
        } else if (sft != null) {
            Map<String, HostTensor> stored;
            try {
                stored = Safetensors.read(files.get(WEIGHTS), SftSpec::isIntegerKey).tensors();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(WEIGHTS + ": " + e.getMessage(), e);
            }
            sftGeometry(Sft.diffs(sft, stored, WEIGHTS), layers, hidden, intermediate, WEIGHTS);
            weights = stored;
        } else if (bottleneck != null) {
            weights = checkedWeights(files.get(WEIGHTS), bottleneckShapes(bottleneck, layers, hidden, config), "bottleneck", "bottleneck " + bottleneck);
        } else if (lokr != null) {
            weights = checkedWeights(files.get(WEIGHTS), expectedLokrShapes(lokr, layers, hidden, Math.max(intermediate, 1)), "LoKr",
                    "r=" + lokr.rank() + ", targets " + lokr.targetModules());
        } else if (soka != null) {
            Map<String, HostTensor> stored = readSafetensors(WEIGHTS, files.get(WEIGHTS)).tensors();
            weights = checkedWeights(stored, expectedSokaShapes(soka, layers, hidden, Math.max(intermediate, 1), stored), "SoKA",
                    "targets " + soka.targetModules());
        } else if (ia3 != null) {
            weights = checkedWeights(files.get(WEIGHTS), expectedIa3Shapes(ia3, layers, hidden, Math.max(intermediate, 1)), "(IA)^3", "(IA)^3 targets " + ia3.targetModules());
        } else {
            weights = loraWeights(files.get(WEIGHTS), spec, layers, hidden, intermediate);
        }

        // lamina_head.safetensors
        Map<String, HostTensor> headTensors = readSafetensors(HEAD, files.get(HEAD)).tensors();
        HostTensor protos = headTensors.get(PROTOTYPES_TENSOR);
        if (protos == null) throw new IllegalArgumentException(HEAD + ": missing tensor '" + PROTOTYPES_TENSOR + "'");
        for (String k : headTensors.keySet()) {
            if (!HEAD_TENSORS.contains(k)) throw new IllegalArgumentException(HEAD + ": unexpected tensor '" + k + "' (allowed: " + HEAD_TENSORS + ")");
        }
        if (protos.shape().length != 2 || protos.shape()[1] < 1) {
            throw new IllegalArgumentException(HEAD + ": '" + PROTOTYPES_TENSOR + "' must be [classes, dim] with dim >= 1, got " + Arrays.toString(protos.shape()));
        }
        if (protos.shape()[0] != labels.size()) {
            throw new IllegalArgumentException(HEAD + ": " + protos.shape()[0] + " prototype rows but " + LAMINA + " has " + labels.size() + " labels");
        }
        int dim = (int) protos.shape()[1];
        float[][] rows = new float[labels.size()][];
        for (int i = 0; i < rows.length; i++) rows[i] = Arrays.copyOfRange(protos.data(), i * dim, (i + 1) * dim);

        float[][] baseRows = headTensors.containsKey(BASE_PROTOTYPES_TENSOR)
                ? rows(headTensors.get(BASE_PROTOTYPES_TENSOR), BASE_PROTOTYPES_TENSOR, labels.size(), dim) : null;
        TaskDescriptor descriptor = null;
        boolean anyDescriptor = headTensors.containsKey(DESCRIPTOR_MEAN) || headTensors.containsKey(DESCRIPTOR_COMPONENTS) || headTensors.containsKey(DESCRIPTOR_LOSS);
        if (anyDescriptor) {
            HostTensor mean = headTensors.get(DESCRIPTOR_MEAN), comps = headTensors.get(DESCRIPTOR_COMPONENTS), loss = headTensors.get(DESCRIPTOR_LOSS);
            if (mean == null || comps == null || loss == null) {
                throw new IllegalArgumentException(HEAD + ": a descriptor needs all of " + DESCRIPTOR_MEAN + ", " + DESCRIPTOR_COMPONENTS + ", " + DESCRIPTOR_LOSS);
            }
            if (!Arrays.equals(mean.shape(), new long[]{dim}) || !Arrays.equals(loss.shape(), new long[]{2})) {
                throw new IllegalArgumentException(HEAD + ": descriptor mean must be [" + dim + "] and loss [2]");
            }
            descriptor = new TaskDescriptor(mean.data().clone(), rows(comps, DESCRIPTOR_COMPONENTS, -1, dim), loss.data()[0], loss.data()[1]);
        }
        AdapterConfig settings = spec != null ? spec : ia3 != null ? ia3 : lokr != null ? lokr : soka != null ? soka
                : bottleneck != null ? bottleneck : prompt != null ? prompt : sft;
        return new Adapter(kind, settings, new TreeMap<>(weights), new PrototypeHead(labels, rows, (float) scale, baseRows),
                baseModelId, baseFingerprint, new AdapterProvenance(method, details), descriptor, gate);
    }

    /**
     * The settings of a {@code LAMINA_BOTTLENECK} {@code adapter_config.json}: Lamina's own format, so it is read
     * strictly: unknown fields, another non-linearity or init, and values outside the enums are refused.
     */
    private static BottleneckSpec bottleneckSpec(JsonNode config) {
        for (Iterator<String> it = config.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!BOTTLENECK_CONFIG_FIELDS.contains(f)) {
                throw new IllegalArgumentException(CONFIG + ": unknown field '" + f + "' for peft_type " + AdapterKind.BOTTLENECK.peftType()
                        + " (known: " + new TreeSet<>(BOTTLENECK_CONFIG_FIELDS) + ")");
            }
        }
        requireValue(config, "non_linearity", "gelu");
        requireValue(config, "init_weights", "zero_up");
        BottleneckSpec.Architecture architecture = enumField(config, "architecture", BottleneckSpec.Architecture.class);
        BottleneckSpec.Placement placement = enumField(config, "placement", BottleneckSpec.Placement.class);
        int reduction = intField(config, "reduction_factor", CONFIG);
        try {
            return new BottleneckSpec(architecture, placement, reduction);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(CONFIG + ": " + e.getMessage(), e);
        }
    }

    private static <E extends Enum<E>> E enumField(JsonNode config, String field, Class<E> type) {
        String v = text(config, field, CONFIG);
        for (E e : type.getEnumConstants()) {
            if (e.name().toLowerCase(java.util.Locale.ROOT).equals(v)) return e;
        }
        List<String> known = Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(java.util.Locale.ROOT)).toList();
        throw new IllegalArgumentException(CONFIG + ": " + field + " '" + v + "' is not one of " + known);
    }

    /** The bottleneck tensors a file must hold for this base, after checking the config's {@code bottleneck_size} against it. */
    private static SortedMap<String, long[]> bottleneckShapes(BottleneckSpec spec, int layers, int hidden, JsonNode config) {
        int width;
        try {
            width = spec.width(hidden);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(CONFIG + ": " + e.getMessage(), e);
        }
        JsonNode size = config.get("bottleneck_size");
        if (size != null && !size.isNull() && intField(config, "bottleneck_size", CONFIG) != width) {
            throw new IllegalArgumentException(CONFIG + ": bottleneck_size " + size + " does not match hidden_size " + hidden + " / reduction_factor "
                    + spec.reductionFactor() + " = " + width);
        }
        return spec.expectedShapes(layers, hidden);
    }

    /**
     * The prompt-tuning settings of an {@code adapter_config.json} ({@code peft_type: PROMPT_TUNING}), as PEFT's
     * {@code PromptTuningConfig} reads them: {@code num_virtual_tokens} is required; {@code prompt_tuning_init} RANDOM
     * (PEFT's default when absent), TEXT (which, as in PEFT, needs {@code prompt_tuning_init_text}) or SAMPLE_VOCAB; an init
     * text beside another init is ignored, as PEFT ignores it. Refused: {@code num_transformer_submodules} other than 1
     * (2 is PEFT's value for encoder-decoder models, whose prompt has a half per stack) and {@code modules_to_save}
     * (a trained head of PEFT's task model, which Lamina does not apply). The shape checks against the base are
     * {@link #promptWeights}'.
     */
    private static PromptTuningSpec promptSpec(JsonNode config) {
        int n = intField(config, "num_virtual_tokens", CONFIG);
        JsonNode sub = config.get("num_transformer_submodules");
        if (sub != null && !sub.isNull() && !(sub.isIntegralNumber() && sub.intValue() == 1)) {
            throw new IllegalArgumentException(CONFIG + ": unsupported num_transformer_submodules=" + sub
                    + ", only 1 (an encoder's prompt; 2 is for encoder-decoder models) is supported");
        }
        requireNullOrAbsent(config, "modules_to_save");
        JsonNode initNode = config.get("prompt_tuning_init");
        String initName = initNode == null || initNode.isNull() ? "RANDOM" : initNode.asText();
        PromptTuningSpec.Init init = null;
        for (PromptTuningSpec.Init i : PromptTuningSpec.Init.values()) if (i.name().equals(initName)) init = i;
        if (init == null) {
            throw new IllegalArgumentException(CONFIG + ": prompt_tuning_init '" + initName + "' is not one of " + Arrays.toString(PromptTuningSpec.Init.values()));
        }
        JsonNode text = config.get("prompt_tuning_init_text");
        if (text != null && !text.isNull() && !text.isTextual()) throw new IllegalArgumentException(CONFIG + ": prompt_tuning_init_text must be a string, got " + text);
        String initText = init == PromptTuningSpec.Init.TEXT && text != null && text.isTextual() ? text.textValue() : null;
        try {
            return new PromptTuningSpec(n, init, initText);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(CONFIG + ": " + e.getMessage(), e);
        }
    }

    /**
     * PEFT's {@code prompt_embeddings}, exactly {@code [num_virtual_tokens, hidden]} and finite, after checking the config's
     * {@code token_dim} (and, given {@code layers >= 1}, {@code num_layers}) against the base when they are set.
     */
    private static Map<String, HostTensor> promptWeights(byte[] file, PromptTuningSpec spec, JsonNode config, int hidden, int layers) {
        JsonNode dim = config.get("token_dim");
        if (dim != null && !dim.isNull() && intField(config, "token_dim", CONFIG) != hidden) {
            throw new IllegalArgumentException(CONFIG + ": token_dim " + dim + " does not match the base model's hidden size " + hidden);
        }
        JsonNode depth = config.get("num_layers");
        if (layers >= 1 && depth != null && !depth.isNull() && intField(config, "num_layers", CONFIG) != layers) {
            throw new IllegalArgumentException(CONFIG + ": num_layers " + depth + " does not match the base model's " + layers + " layers");
        }
        SortedMap<String, long[]> expected = new TreeMap<>();
        expected.put(PromptTuningSpec.PEFT_KEY, spec.shape(hidden));
        return checkedWeights(file, expected, "prompt-tuning", spec.numVirtualTokens() + " virtual tokens of width " + hidden);
    }

    /** The one prompt tensor of a prompt-tuning adapter, shaped {@code [num_virtual_tokens, dim]} ({@code dim}: the head's). */
    private static Geometry promptGeometryOf(PromptTuningSpec spec, Map<String, HostTensor> weights, int hidden) {
        HostTensor t = weights.get(PromptTuningSpec.PEFT_KEY);
        if (t == null) throw new IllegalArgumentException("adapter is missing prompt-tuning weight '" + PromptTuningSpec.PEFT_KEY + "'");
        if (weights.size() != 1) throw new IllegalArgumentException("a prompt-tuning adapter has one tensor, '" + PromptTuningSpec.PEFT_KEY + "'; this one has " + weights.keySet());
        if (!Arrays.equals(t.shape(), spec.shape(hidden))) {
            throw new IllegalArgumentException("adapter weight '" + PromptTuningSpec.PEFT_KEY + "' has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(spec.shape(hidden)));
        }
        return new Geometry(0, hidden, 0);
    }

    /** The LoRA settings of an {@code adapter_config.json}, refusing every PEFT option Lamina does not apply. */
    private static LoraSpec loraSpec(JsonNode config) {
        int rank = intField(config, "r", CONFIG);
        double alpha = number(config, "lora_alpha", CONFIG);
        double dropout = config.has("lora_dropout") && !config.get("lora_dropout").isNull() ? number(config, "lora_dropout", CONFIG) : 0.0;
        // PEFT's matching: list entries by suffix ("dense" wraps all three dense layers), a string as a regex
        List<String> targets = matchModules(config, "target_modules", true);
        requireValue(config, "bias", "none");
        requireFalseOrAbsent(config, "fan_in_fan_out");
        JsonNode rs = config.get("use_rslora");
        if (rs != null && !rs.isNull() && !rs.isBoolean()) throw new IllegalArgumentException(CONFIG + ": use_rslora must be true or false, got " + rs);
        boolean rslora = rs != null && rs.isBoolean() && rs.booleanValue();
        JsonNode dora = config.get("use_dora");
        if (dora != null && !dora.isNull() && !dora.isBoolean()) throw new IllegalArgumentException(CONFIG + ": use_dora must be true or false, got " + dora);
        LoraVariant variant = dora != null && dora.isBoolean() && dora.booleanValue() ? LoraVariant.DORA : LoraVariant.STANDARD;
        requireNullOrAbsent(config, "modules_to_save");
        requireNullOrAbsent(config, "layers_to_transform");
        requireEmptyOrAbsent(config, "rank_pattern");
        requireEmptyOrAbsent(config, "alpha_pattern");
        try {
            return new LoraSpec(rank, (float) alpha, (float) dropout, targets, rslora, variant);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(CONFIG + ": " + e.getMessage(), e);
        }
    }

    /**
     * The LoKr settings of an {@code adapter_config.json} ({@code peft_type: LOKR}), refusing what Lamina does not
     * apply: rank or module dropout, effective Conv2d, per-module ranks or alphas, modules_to_save, per-layer selection,
     * exclusions. {@code init_weights} only concerns initialisation and is ignored.
     */
    private static LokrSpec lokrSpec(JsonNode config) {
        int rank = intField(config, "r", CONFIG);
        double alpha = number(config, "alpha", CONFIG);
        JsonNode both = config.get("decompose_both");
        if (both != null && !both.isNull() && !both.isBoolean()) throw new IllegalArgumentException(CONFIG + ": decompose_both must be true or false, got " + both);
        int factor = config.has("decompose_factor") && !config.get("decompose_factor").isNull() ? intField(config, "decompose_factor", CONFIG) : -1;
        for (String field : List.of("rank_dropout", "module_dropout")) {
            JsonNode v = config.get(field);
            if (v != null && !v.isNull() && !(v.isNumber() && v.doubleValue() == 0.0)) {
                throw new IllegalArgumentException(CONFIG + ": unsupported " + field + "=" + v + ", only 0 is supported");
            }
        }
        requireFalseOrAbsent(config, "use_effective_conv2d");
        requireNullOrAbsent(config, "modules_to_save");
        requireNullOrAbsent(config, "layers_to_transform");
        requireNullOrAbsent(config, "exclude_modules");
        requireEmptyOrAbsent(config, "rank_pattern");
        requireEmptyOrAbsent(config, "alpha_pattern");
        List<String> targets = matchModules(config, "target_modules", true);
        try {
            return new LokrSpec(targets, rank, (float) alpha, both != null && both.isBoolean() && both.booleanValue(), factor);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(CONFIG + ": " + e.getMessage(), e);
        }
    }

    /** The SoKA settings of an {@code adapter_config.json} ({@code peft_type: LAMINA_SOKA}). */
    private static SokaSpec sokaSpec(JsonNode config) {
        List<String> targets = matchModules(config, "target_modules", true);
        try {
            return new SokaSpec(targets, intField(config, "decompose_factor", CONFIG), number(config, "energy_threshold", CONFIG),
                    intField(config, "min_rank", CONFIG), intField(config, "max_rank", CONFIG));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().startsWith(CONFIG) ? e.getMessage() : CONFIG + ": " + e.getMessage(), e);
        }
    }

    /**
     * The (IA)^3 settings of an {@code adapter_config.json} ({@code peft_type: IA3}), resolving its module
     * lists exactly as PEFT does over a BERT layer's linears (see {@link #matchModules}), refusing
     * options Lamina does not apply (fan-in-fan-out, modules_to_save, per-layer selection, exclusions).
     */
    private static Ia3Spec ia3Spec(JsonNode config) {
        requireFalseOrAbsent(config, "fan_in_fan_out");
        requireNullOrAbsent(config, "modules_to_save");
        requireNullOrAbsent(config, "layers_to_transform");
        requireNullOrAbsent(config, "exclude_modules");
        List<String> targets = matchModules(config, "target_modules", true);
        List<String> feedforward = config.has("feedforward_modules") && !config.get("feedforward_modules").isNull()
                ? matchModules(config, "feedforward_modules", false) : List.of();
        // PEFT checks the subset rule only between lists; a regular expression only ever affects wrapped modules
        if (config.get("feedforward_modules") != null && config.get("feedforward_modules").isTextual()) {
            feedforward = feedforward.stream().filter(targets::contains).toList();
        }
        try {
            return new Ia3Spec(targets, feedforward);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(CONFIG + ": " + e.getMessage(), e);
        }
    }

    /**
     * The BERT-layer modules a PEFT module selector picks: a string is a regular expression that must
     * match the whole module name ({@code re.fullmatch}); a list entry matches a name equal to it or,
     * for {@code target_modules}, ending in {@code "." + entry} (PEFT's {@code check_target_module_exists}),
     * for {@code feedforward_modules} ending in the entry (PEFT's {@code _check_target_module_feedforward}).
     * Names are tried as {@code encoder.layer.N.<path>} for every layer; a selector that picks different
     * modules in different layers, or an entry that matches none, is refused.
     */
    static List<String> matchModules(JsonNode config, String field, boolean dotted) {
        JsonNode node = config.get(field);
        if (node == null || node.isNull()) throw new IllegalArgumentException(CONFIG + ": " + field + " is required");
        List<String> out = new ArrayList<>();
        boolean expanded = false; // an entry selected a module by suffix, not by its own name
        if (node.isTextual()) {
            Pattern p;
            try {
                p = Pattern.compile(node.textValue());
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new IllegalArgumentException(CONFIG + ": " + field + " is not a valid regular expression: " + e.getDescription(), e);
            }
            for (String m : Ia3Spec.MODULES) {
                boolean first = p.matcher("encoder.layer.0." + Ia3Spec.path(m)).matches();
                for (int l = 1; l < 48; l++) {
                    if (p.matcher("encoder.layer." + l + "." + Ia3Spec.path(m)).matches() != first) {
                        throw new IllegalArgumentException(CONFIG + ": " + field + " selects '" + m + "' in some layers only; per-layer selection is not supported");
                    }
                }
                if (first) out.add(m);
            }
            if (out.isEmpty()) throw new IllegalArgumentException(CONFIG + ": " + field + " '" + node.textValue() + "' matches no linear layer of a BERT encoder layer " + Ia3Spec.MODULES);
            return out;
        }
        if (!node.isArray()) throw new IllegalArgumentException(CONFIG + ": " + field + " must be a list of module names or a regular expression");
        for (JsonNode e : node) {
            if (!e.isTextual()) throw new IllegalArgumentException(CONFIG + ": " + field + " entries must be strings, got " + e);
            String entry = e.textValue();
            boolean any = false;
            for (String m : Ia3Spec.MODULES) {
                String name = "encoder.layer.0." + Ia3Spec.path(m);
                if (name.equals(entry) || name.endsWith(dotted ? "." + entry : entry)) {
                    any = true;
                    expanded |= !m.equals(entry);
                    if (!out.contains(m)) out.add(m);
                }
            }
            if (!any) throw new IllegalArgumentException(CONFIG + ": " + field + " entry '" + entry + "' matches no linear layer of a BERT encoder layer " + Ia3Spec.MODULES);
        }
        if (out.isEmpty() && dotted) throw new IllegalArgumentException(CONFIG + ": " + field + " is empty");
        // exact names keep the file's order (as Lamina wrote it); names reached by suffix come in layer order
        return expanded ? Ia3Spec.MODULES.stream().filter(out::contains).toList() : out;
    }

    /** {@code adapter_model.safetensors} with exactly the expected keys and shapes, every value finite. */
    private static Map<String, HostTensor> loraWeights(byte[] file, LoraSpec spec, int layers, int hidden, int intermediate) {
        return checkedWeights(file, expectedShapes(spec, layers, hidden, intermediate), "LoRA", "r=" + spec.rank() + (spec.dora() ? ", DoRA" : "") + ", targets " + spec.targetModules());
    }

    /** The weights file holding exactly {@code expected} (key to shape), every value finite; {@code what} describes the adapter in messages. */
    private static Map<String, HostTensor> checkedWeights(byte[] file, SortedMap<String, long[]> expected, String type, String what) {
        return checkedWeights(readSafetensors(WEIGHTS, file).tensors(), expected, type, what);
    }

    private static Map<String, HostTensor> checkedWeights(Map<String, HostTensor> weights, SortedMap<String, long[]> expected, String type, String what) {
        int layers = expected.keySet().stream().mapToInt(k -> {
            Matcher m = LAYER.matcher(k);
            return m.find() ? Integer.parseInt(m.group(1)) + 1 : 0;
        }).max().orElse(0);
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            HostTensor t = weights.get(e.getKey());
            if (t == null) throw new IllegalArgumentException(WEIGHTS + ": missing " + type + " weight '" + e.getKey() + "' (" + what + (layers > 0 ? ", " + layers + " layers" : "") + ")");
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new IllegalArgumentException(WEIGHTS + ": '" + e.getKey() + "' has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(e.getValue()));
            }
            float[] d = t.data();
            for (int i = 0; i < d.length; i++) {
                if (!Float.isFinite(d[i])) throw new IllegalArgumentException(WEIGHTS + ": '" + e.getKey() + "' holds " + d[i] + " at element " + i);
            }
        }
        for (String k : weights.keySet()) {
            if (!expected.containsKey(k)) throw new IllegalArgumentException(WEIGHTS + ": unexpected tensor '" + k + "' (" + what + (layers > 0 ? ", " + layers + " layers" : "") + ")");
        }
        return weights;
    }

    private static final Pattern LAYER = Pattern.compile("\\.layer\\.(\\d+)\\.");

    /**
     * A LoRA adapter made elsewhere with PEFT, as its directory's files: the LoRA settings, the
     * checked weights and what the config says of its origin. It has no head (PEFT has none for a
     * sentence encoder); the importer builds one.
     */
    public record PeftLora(LoraSpec spec, SortedMap<String, HostTensor> weights, Map<String, String> details) {
    }

    /**
     * An adapter made elsewhere with PEFT: LoRA (incl. rsLoRA and DoRA) with its {@code lora} spec, (IA)^3 with its
     * {@code ia3} spec, LoKr with its {@code lokr} spec or prompt tuning with its {@code prompt} spec (the others
     * {@code null}); the checked weights under PEFT keys; what the config says of its origin ({@code peft-version},
     * {@code base-model-name-or-path}, ...). No head: the importer builds one ({@link #toAdapter}).
     */
    public record PeftImport(AdapterKind kind, LoraSpec lora, Ia3Spec ia3, SortedMap<String, HostTensor> weights, Map<String, String> details,
                             LokrSpec lokr, PromptTuningSpec prompt) {
        public PeftImport(AdapterKind kind, LoraSpec lora, Ia3Spec ia3, SortedMap<String, HostTensor> weights, Map<String, String> details) {
            this(kind, lora, ia3, weights, details, null, null);
        }

        /** The adapter these weights make, with {@code head} (may be {@code null} until the importer has built one). */
        public Adapter toAdapter(PrototypeHead head, String baseModelId, String baseFingerprint, AdapterProvenance provenance) {
            switch (kind) {
                case LORA: return Adapter.lora(lora, weights, head, baseModelId, baseFingerprint, provenance);
                case IA3: return Adapter.of(ia3, weights, head, baseModelId, baseFingerprint, provenance);
                case LOKR: return Adapter.of(lokr, weights, head, baseModelId, baseFingerprint, provenance);
                case PROMPT_TUNING: return Adapter.of(prompt, weights, head, baseModelId, baseFingerprint, provenance);
                default: throw new IllegalStateException(kind + " is not imported from PEFT");
            }
        }

        /** The spec's rank where it has one (LoRA's r, LoKr's r), the number of virtual tokens for prompt tuning, else 0. */
        public int size() {
            return lora != null ? lora.rank() : lokr != null ? lokr.rank() : prompt != null ? prompt.numVirtualTokens() : 0;
        }

        /** The wrapped modules of one encoder layer (none for prompt tuning, which wraps no module). */
        public List<String> targetModules() {
            return lora != null ? lora.targetModules() : ia3 != null ? ia3.targetModules() : lokr != null ? lokr.targetModules() : List.of();
        }
    }

    /**
     * Reads a zip of a PEFT LORA, IA3, LOKR or PROMPT_TUNING directory for a base of {@code layers} layers, width
     * {@code hidden} and FFN width {@code intermediate}, with the checks of {@link #importPeftZip}: every PEFT option
     * Lamina does not apply is refused by name, and so are weights of the wrong keys or shapes for this base and NaN/Inf
     * values (float32, float16 and bfloat16 tensors are read, as float32).
     */
    public static PeftImport importPeft(byte[] zip, int layers, int hidden, int intermediate) {
        Map<String, byte[]> files = readPeftZip(zip);
        JsonNode config = parseJson(CONFIG, files.get(CONFIG));
        String peftType = text(config, "peft_type", CONFIG);
        Map<String, String> details = originDetails(config);
        if (peftType.equals(AdapterKind.IA3.peftType())) {
            Ia3Spec spec = ia3Spec(config);
            Map<String, HostTensor> weights = checkedWeights(files.get(WEIGHTS), expectedIa3Shapes(spec, layers, hidden, intermediate), "(IA)^3",
                    "(IA)^3 targets " + spec.targetModules() + ", feed-forward " + spec.feedforwardModules());
            return new PeftImport(AdapterKind.IA3, null, spec, new TreeMap<>(weights), details);
        }
        if (peftType.equals(AdapterKind.BOTTLENECK.peftType())) {
            throw new IllegalArgumentException(CONFIG + ": peft_type '" + peftType + "' is a Lamina bottleneck adapter, not a PEFT adapter: "
                    + "read its full directory (with " + LAMINA + " and " + HEAD + ") as a Lamina adapter instead");
        }
        if (peftType.equals(AdapterKind.LOKR.peftType())) {
            LokrSpec spec = lokrSpec(config);
            Map<String, HostTensor> weights = checkedWeights(files.get(WEIGHTS), expectedLokrShapes(spec, layers, hidden, Math.max(intermediate, 1)), "LoKr",
                    "r=" + spec.rank() + ", targets " + spec.targetModules());
            return new PeftImport(AdapterKind.LOKR, null, null, new TreeMap<>(weights), details, spec, null);
        }
        if (peftType.equals(AdapterKind.PROMPT_TUNING.peftType())) {
            PromptTuningSpec spec = promptSpec(config);
            return new PeftImport(AdapterKind.PROMPT_TUNING, null, null, new TreeMap<>(promptWeights(files.get(WEIGHTS), spec, config, hidden, layers)),
                    details, null, spec);
        }
        if (peftType.equals(AdapterKind.SFT.peftType())) {
            throw new IllegalArgumentException(CONFIG + ": peft_type '" + peftType + "' is a Lamina sparse fine-tuning, not a PEFT adapter: "
                    + "read its full directory (with " + LAMINA + " and " + HEAD + ") as a Lamina adapter instead");
        }
        if (!peftType.equals(AdapterKind.LORA.peftType())) {
            throw new IllegalArgumentException(CONFIG + ": peft_type '" + peftType + "' cannot be imported (importable: LORA, IA3, LOKR, PROMPT_TUNING)");
        }
        LoraSpec spec = loraSpec(config);
        return new PeftImport(AdapterKind.LORA, spec, null, new TreeMap<>(loraWeights(files.get(WEIGHTS), spec, layers, hidden, intermediate)), details);
    }

    private static Map<String, String> originDetails(JsonNode config) {
        Map<String, String> details = new TreeMap<>();
        for (String field : List.of("peft_version", "base_model_name_or_path", "task_type", "revision")) {
            JsonNode v = config.get(field);
            if (v != null && v.isTextual()) details.put(field.replace('_', '-'), v.textValue());
        }
        return details;
    }

    private static Map<String, byte[]> readPeftZip(byte[] zip) {
        Map<String, byte[]> files;
        try {
            files = readZip(zip, PEFT_FILE_NAMES, IMPORT_MAX_FILE_BYTES);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().contains("'adapter_model.bin'")) {
                throw new IllegalArgumentException("adapter_model.bin is a pickle file and is never read: save the adapter with "
                        + "safe_serialization=True (adapter_model.safetensors)");
            }
            throw e;
        }
        for (String name : List.of(CONFIG, WEIGHTS)) {
            if (files.get(name) == null) throw new IllegalArgumentException("PEFT adapter is missing " + name);
        }
        return files;
    }

    /**
     * Largest file of an imported PEFT zip once decompressed: a LoRA of rank 256 on every supported
     * target of a 12-layer, 768-wide encoder is about 57 MB, so a zip bomb stops here, early.
     */
    public static final long IMPORT_MAX_FILE_BYTES = 64L * 1024 * 1024;

    /** Files of a PEFT directory Lamina reads; PEFT's {@code README.md} (a model card) is accepted and ignored. */
    public static final List<String> PEFT_FILE_NAMES = List.of(CONFIG, WEIGHTS, "README.md");

    /**
     * Reads a zip of a PEFT LoRA directory (DoRA and rsLoRA included) for a base of {@code layers} layers and
     * width {@code hidden}. Refuses pickle weights ({@code adapter_model.bin}), adapter types other than LORA,
     * options Lamina does not apply (fan-in-fan-out, per-module ranks), wrong shapes and NaN/Inf values,
     * each with a message naming the file and the problem.
     */
    public static PeftLora importPeftZip(byte[] zip, int layers, int hidden) {
        return importPeftZip(zip, layers, hidden, 0);
    }

    /** {@link #importPeftZip(byte[], int, int)} for a base whose FFN is {@code intermediate} wide (needed for FFN targets). */
    public static PeftLora importPeftZip(byte[] zip, int layers, int hidden, int intermediate) {
        Map<String, byte[]> files = readPeftZip(zip);
        JsonNode config = parseJson(CONFIG, files.get(CONFIG));
        String peftType = text(config, "peft_type", CONFIG);
        if (!peftType.equals(AdapterKind.LORA.peftType())) {
            throw new IllegalArgumentException(CONFIG + ": peft_type '" + peftType + "' cannot be imported as a LoRA (importable here: LORA; "
                    + "IA3, LOKR and PROMPT_TUNING through importPeft)");
        }
        LoraSpec spec = loraSpec(config);
        Map<String, HostTensor> weights = loraWeights(files.get(WEIGHTS), spec, layers, hidden, intermediate);
        return new PeftLora(spec, new TreeMap<>(weights), originDetails(config));
    }

    /**
     * Reads an adapter zip. Entries must be plain file names among {@link #FILE_NAMES}, each at most once;
     * sizes are limited while decompressing, so a zip bomb fails early.
     */
    public static Adapter fromZip(byte[] zip) {
        return fromFiles(readZip(zip, FILE_NAMES, MAX_FILE_BYTES));
    }

    /** The {@code adapter_config.json} of an adapter zip (as {@link #fromZip} accepts it), as stored. */
    public static byte[] configOf(byte[] zip) {
        byte[] config = readZip(zip, FILE_NAMES, MAX_FILE_BYTES).get(CONFIG);
        if (config == null) throw new IllegalArgumentException("adapter zip has no " + CONFIG);
        return config;
    }

    /** A zip's entries, which must be plain file names among {@code allowed}, each at most once, size-limited while decompressing. */
    private static Map<String, byte[]> readZip(byte[] zip, List<String> allowed, long maxFileBytes) {
        if (zip == null) throw new IllegalArgumentException("adapter zip must not be null");
        Map<String, byte[]> files = new TreeMap<>();
        long total = 0;
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            ZipEntry e;
            while ((e = in.getNextEntry()) != null) {
                String name = e.getName();
                if (e.isDirectory() || name.contains("/") || name.contains("\\") || !allowed.contains(name)) {
                    throw new IllegalArgumentException("adapter zip has unexpected entry '" + name + "', expected only " + allowed);
                }
                if (files.containsKey(name)) throw new IllegalArgumentException("adapter zip has entry '" + name + "' twice");
                long limit = Math.min(Math.min(limitFor(name), maxFileBytes), MAX_TOTAL_BYTES - total);
                byte[] content = readLimited(in, limit, "adapter zip entry '" + name + "'");
                total += content.length;
                files.put(name, content);
            }
        } catch (ZipException e) {
            throw new IllegalArgumentException("adapter zip is corrupt: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("adapter zip cannot be read: " + e.getMessage(), e);
        }
        if (files.isEmpty()) throw new IllegalArgumentException("adapter zip has no entries (not a zip?)");
        return files;
    }

    /** Reads the expected files from a directory (regular files only, size-limited). */
    public static Adapter readDirectory(Path dir) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        for (String name : FILE_NAMES) {
            Path p = dir.resolve(name);
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) throw new IllegalArgumentException("adapter directory " + dir + " is missing " + name);
            if (Files.size(p) > limitFor(name)) throw new IllegalArgumentException(name + " is larger than " + limitFor(name) + " bytes");
            files.put(name, Files.readAllBytes(p));
        }
        return fromFiles(files);
    }

    // ------------------------------------------------------------------ helpers

    /** Layer count and hidden size of a LoRA weight map; also checks that it is complete and consistent. */
    private record Geometry(int layers, int hidden, int intermediate) {
    }

    /** Layers (from the keys), width (given) and FFN width (from the vectors, 0 when none has it) of an (IA)^3 weight map, checked complete. */
    private static Geometry ia3GeometryOf(Ia3Spec spec, Map<String, HostTensor> weights, int hidden) {
        if (weights.isEmpty()) throw new IllegalArgumentException("adapter has no (IA)^3 weights");
        int maxLayer = -1;
        for (String k : weights.keySet()) {
            Matcher m = IA3_KEY.matcher(k);
            if (!m.matches()) throw new IllegalArgumentException("adapter weight '" + k + "' is not a PEFT (IA)^3 key");
            maxLayer = Math.max(maxLayer, Integer.parseInt(m.group(1)));
        }
        int intermediate = 0;
        if (spec.usesIntermediate()) {
            String module = spec.targetModules().contains("output.dense") && spec.isFeedforward("output.dense") ? "output.dense" : "intermediate.dense";
            HostTensor t = weights.get(Ia3Spec.peftKey(0, module));
            if (t == null || t.shape().length != 2) throw new IllegalArgumentException("adapter is missing a 2-d '" + Ia3Spec.peftKey(0, module) + "'");
            intermediate = (int) Math.max(t.shape()[0], t.shape()[1]);
        }
        SortedMap<String, long[]> expected = expectedIa3Shapes(spec, maxLayer + 1, hidden, Math.max(intermediate, 1));
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            HostTensor t = weights.get(e.getKey());
            if (t == null) throw new IllegalArgumentException("adapter is missing (IA)^3 weight '" + e.getKey() + "'");
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new IllegalArgumentException("adapter weight '" + e.getKey() + "' has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(e.getValue()));
            }
        }
        if (weights.size() != expected.size()) throw new IllegalArgumentException("adapter has unexpected (IA)^3 weights");
        return new Geometry(maxLayer + 1, hidden, intermediate);
    }

    /** Every PEFT key a LoKr adapter with this spec must have, with its shape ({@link LokrSpec#shapes}). */
    public static SortedMap<String, long[]> expectedLokrShapes(LokrSpec spec, int layers, int hidden, int intermediate) {
        SortedMap<String, long[]> out = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (String m : spec.targetModules()) {
                for (Map.Entry<String, long[]> e : spec.shapes(m, hidden, intermediate).entrySet()) out.put(LokrSpec.peftKey(l, m, e.getKey()), e.getValue());
            }
        }
        return out;
    }

    /**
     * Every key a SoKA adapter with this spec must have, with its shape: {@code [K, m, n]} for A and A0, {@code [K, p, q]}
     * for B and B0, where each target's K is read from its stored {@code soka_a} ({@code 1 ≤ K ≤ min(m·n, p·q)}, a
     * KPSVD has no more components); a missing {@code soka_a} is reported as missing with K shown as 1.
     */
    public static SortedMap<String, long[]> expectedSokaShapes(SokaSpec spec, int layers, int hidden, int intermediate, Map<String, HostTensor> stored) {
        SortedMap<String, long[]> out = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (String module : spec.targetModules()) {
                int[] f = spec.factors(module, hidden, intermediate);
                HostTensor a = stored.get(SokaSpec.peftKey(l, module, SokaSpec.A));
                long k = a == null || a.shape().length != 3 ? 1 : a.shape()[0];
                long most = Math.min((long) f[0] * f[1], (long) f[2] * f[3]);
                if (k < 1 || k > most) {
                    throw new IllegalArgumentException(WEIGHTS + ": '" + SokaSpec.peftKey(l, module, SokaSpec.A) + "' stacks " + k + " Kronecker terms, expected 1 to " + most);
                }
                out.put(SokaSpec.peftKey(l, module, SokaSpec.A), new long[]{k, f[0], f[1]});
                out.put(SokaSpec.peftKey(l, module, SokaSpec.A0), new long[]{k, f[0], f[1]});
                out.put(SokaSpec.peftKey(l, module, SokaSpec.B), new long[]{k, f[2], f[3]});
                out.put(SokaSpec.peftKey(l, module, SokaSpec.B0), new long[]{k, f[2], f[3]});
            }
        }
        return out;
    }

    /**
     * Layers (from the keys), width (given: the head's) and FFN width (from an FFN target's factors, 0 when none) of a
     * LoKr or SoKA weight map, checked against the expected keys and shapes.
     */
    private static Geometry kroneckerGeometryOf(Adapter adapter, int hidden) {
        Map<String, HostTensor> weights = adapter.weights();
        if (weights.isEmpty()) throw new IllegalArgumentException("adapter has no " + adapter.kind() + " weights");
        boolean lokr = adapter.kind() == AdapterKind.LOKR;
        List<String> targets = lokr ? adapter.lokr().targetModules() : adapter.soka().targetModules();
        int maxLayer = -1;
        for (String k : weights.keySet()) {
            Matcher m = KRONECKER_KEY.matcher(k);
            if (!m.matches() || m.group(3).startsWith("soka") == lokr) throw new IllegalArgumentException("adapter weight '" + k + "' is not a " + adapter.kind() + " key");
            maxLayer = Math.max(maxLayer, Integer.parseInt(m.group(1)));
        }
        int intermediate = 0;
        for (String module : targets) {
            if (!BertModules.usesIntermediate(module)) continue;
            boolean outSide = module.equals("intermediate.dense");  // the FFN width is its output; output.dense's input
            int dim = outSide ? 0 : 1;
            long width = 1;
            if (lokr) {
                for (String w : List.of("lokr_w1", "lokr_w2")) {
                    HostTensor whole = weights.get(LokrSpec.peftKey(0, module, w));
                    HostTensor half = weights.get(LokrSpec.peftKey(0, module, w + (outSide ? "_a" : "_b")));
                    HostTensor t = whole != null ? whole : half;
                    if (t == null || t.shape().length != 2) throw new IllegalArgumentException("adapter is missing LoKr weight " + w + " of layer 0 " + module);
                    width *= t.shape()[dim];
                }
            } else {
                for (String w : List.of(SokaSpec.A, SokaSpec.B)) {
                    HostTensor t = weights.get(SokaSpec.peftKey(0, module, w));
                    if (t == null || t.shape().length != 3) throw new IllegalArgumentException("adapter is missing SoKA weight " + w + " of layer 0 " + module);
                    width *= t.shape()[dim + 1];
                }
            }
            intermediate = (int) width;
        }
        int layers = maxLayer + 1;
        SortedMap<String, long[]> expected = lokr ? expectedLokrShapes(adapter.lokr(), layers, hidden, Math.max(intermediate, 1))
                : expectedSokaShapes(adapter.soka(), layers, hidden, Math.max(intermediate, 1), weights);
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            HostTensor t = weights.get(e.getKey());
            if (t == null) throw new IllegalArgumentException("adapter is missing " + adapter.kind() + " weight '" + e.getKey() + "'");
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new IllegalArgumentException("adapter weight '" + e.getKey() + "' has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(e.getValue()));
            }
        }
        if (weights.size() != expected.size()) throw new IllegalArgumentException("adapter has unexpected " + adapter.kind() + " weights");
        return new Geometry(layers, hidden, intermediate);
    }

    /** Layers (from the keys) and width (given, from the head) of a bottleneck weight map, checked complete and shaped as the spec says. */
    private static Geometry bottleneckGeometryOf(BottleneckSpec spec, Map<String, HostTensor> weights, int hidden) {
        if (weights.isEmpty()) throw new IllegalArgumentException("adapter has no bottleneck weights");
        int maxLayer = -1;
        for (String k : weights.keySet()) {
            Matcher m = BOTTLENECK_KEY.matcher(k);
            if (!m.matches()) throw new IllegalArgumentException("adapter weight '" + k + "' is not a bottleneck adapter key");
            maxLayer = Math.max(maxLayer, Integer.parseInt(m.group(1)));
        }
        SortedMap<String, long[]> expected = spec.expectedShapes(maxLayer + 1, hidden);
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            HostTensor t = weights.get(e.getKey());
            if (t == null) throw new IllegalArgumentException("adapter is missing bottleneck weight '" + e.getKey() + "'");
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new IllegalArgumentException("adapter weight '" + e.getKey() + "' has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(e.getValue()));
            }
        }
        for (String k : weights.keySet()) {
            if (!expected.containsKey(k)) throw new IllegalArgumentException("adapter has bottleneck weight '" + k + "', which a " + spec.architecture() + " spec does not");
        }
        return new Geometry(maxLayer + 1, hidden, 0);
    }

    /** Every PEFT key an (IA)^3 adapter with this spec must have, with its shape ({@code [1, in]} feed-forward, else {@code [out, 1]}). */
    public static SortedMap<String, long[]> expectedIa3Shapes(Ia3Spec spec, int layers, int hidden, int intermediate) {
        SortedMap<String, long[]> out = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (String m : spec.targetModules()) out.put(Ia3Spec.peftKey(l, m), spec.shape(m, hidden, intermediate));
        }
        return out;
    }

    private static Geometry geometryOf(LoraSpec spec, Map<String, HostTensor> weights) {
        if (weights.isEmpty()) throw new IllegalArgumentException("adapter has no LoRA weights");
        int maxLayer = -1;
        Set<String> modules = new TreeSet<>();
        for (String k : weights.keySet()) {
            Matcher m = KEY.matcher(k);
            if (!m.matches()) throw new IllegalArgumentException("adapter weight '" + k + "' is not a PEFT LoRA key");
            if (m.group(3) == null && !spec.dora()) throw new IllegalArgumentException("adapter weight '" + k + "' is a DoRA magnitude but the spec is not DoRA");
            maxLayer = Math.max(maxLayer, Integer.parseInt(m.group(1)));
            modules.add(BertModules.moduleOfPath(m.group(2)));
        }
        if (!modules.equals(new TreeSet<>(spec.targetModules()))) {
            throw new IllegalArgumentException("adapter weights cover modules " + modules + " but spec targets " + spec.targetModules());
        }
        // the width from a factor whose input is hidden-wide (B's rows for the FFN output), the FFN width from an FFN target
        int hidden = -1, intermediate = 0;
        for (String module : spec.targetModules()) {
            HostTensor a = weights.get(LoraSpec.peftKey(0, module, 'A')), b = weights.get(LoraSpec.peftKey(0, module, 'B'));
            for (char f : new char[]{'A', 'B'}) {
                HostTensor t = f == 'A' ? a : b;
                if (t == null || t.shape().length != 2) throw new IllegalArgumentException("adapter is missing LoRA weight '" + LoraSpec.peftKey(0, module, f) + "' (2-d)");
            }
            if (hidden < 0) hidden = (int) (module.equals("output.dense") ? b.shape()[0] : a.shape()[1]);
            if (module.equals("intermediate.dense")) intermediate = (int) b.shape()[0];
            if (module.equals("output.dense")) intermediate = (int) a.shape()[1];
        }
        int layers = maxLayer + 1;
        SortedMap<String, long[]> expected = expectedShapes(spec, layers, hidden, Math.max(intermediate, 1));
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            HostTensor t = weights.get(e.getKey());
            if (t == null) throw new IllegalArgumentException("adapter is missing LoRA weight '" + e.getKey() + "'");
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new IllegalArgumentException("adapter weight '" + e.getKey() + "' has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(e.getValue()));
            }
        }
        if (weights.size() != expected.size()) throw new IllegalArgumentException("adapter has unexpected LoRA weights");
        return new Geometry(layers, hidden, intermediate);
    }

    /** Every PEFT key a LoRA adapter with this spec (attention projections only) must have, with its shape. */
    public static SortedMap<String, long[]> expectedShapes(LoraSpec spec, int layers, int hidden) {
        return expectedShapes(spec, layers, hidden, 0);
    }

    /**
     * Every PEFT key a LoRA adapter with this spec must have, with its shape: {@code A [r, in]}, {@code B [out, r]}
     * and with DoRA {@code lora_magnitude_vector [out]}, for a base of FFN width {@code intermediate}
     * (0 when unknown: then only attention-projection targets are accepted).
     */
    public static SortedMap<String, long[]> expectedShapes(LoraSpec spec, int layers, int hidden, int intermediate) {
        SortedMap<String, long[]> out = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (String m : spec.targetModules()) {
                if (intermediate < 1 && BertModules.usesIntermediate(m)) {
                    throw new IllegalArgumentException("LoRA on '" + m + "' needs the base's FFN width to check its shapes");
                }
                int in = BertModules.inFeatures(m, hidden, intermediate), outF = BertModules.outFeatures(m, hidden, intermediate);
                out.put(LoraSpec.peftKey(l, m, 'A'), new long[]{spec.rank(), in});
                out.put(LoraSpec.peftKey(l, m, 'B'), new long[]{outF, spec.rank()});
                if (spec.dora()) out.put(LoraSpec.magnitudeKey(l, m), new long[]{outF}); // PEFT: [out_features]
            }
        }
        return out;
    }

    private static long limitFor(String name) {
        return name.endsWith(".json") ? MAX_JSON_BYTES : MAX_FILE_BYTES;
    }

    private static byte[] readLimited(InputStream in, long limit, String what) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[64 * 1024];
        long n = 0;
        int r;
        while ((r = in.read(buf)) > 0) {
            n += r;
            if (n > limit) throw new IllegalArgumentException(what + " exceeds the size limit of " + limit + " bytes");
            out.write(buf, 0, r);
        }
        return out.toByteArray();
    }

    private static Safetensors.SafetensorsFile readSafetensors(String name, byte[] bytes) {
        try {
            return Safetensors.read(bytes);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
    }

    private static JsonNode parseJson(String name, byte[] bytes) {
        JsonNode n;
        try {
            n = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new IllegalArgumentException(name + " is not valid JSON: " + e.getMessage(), e);
        }
        if (n == null || !n.isObject()) throw new IllegalArgumentException(name + " must be a JSON object");
        return n;
    }

    private static String text(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.textValue().isBlank()) throw new IllegalArgumentException(where + ": '" + field + "' must be a non-blank string");
        return v.textValue();
    }

    private static int intField(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) throw new IllegalArgumentException(where + ": '" + field + "' must be an integer, got " + v);
        return v.intValue();
    }

    private static double number(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.isNumber()) throw new IllegalArgumentException(where + ": '" + field + "' must be a number, got " + v);
        return v.doubleValue();
    }

    private static void requireValue(JsonNode config, String field, String value) {
        JsonNode v = config.get(field);
        if (v != null && !v.isNull() && !value.equals(v.asText())) {
            throw new IllegalArgumentException(CONFIG + ": unsupported " + field + " " + v + ", only \"" + value + "\" is supported");
        }
    }

    private static void requireFalseOrAbsent(JsonNode config, String field) {
        JsonNode v = config.get(field);
        if (v != null && !v.isNull() && !(v.isBoolean() && !v.booleanValue())) {
            throw new IllegalArgumentException(CONFIG + ": unsupported " + field + "=" + v + ", only false is supported");
        }
    }

    private static void requireNullOrAbsent(JsonNode config, String field) {
        JsonNode v = config.get(field);
        if (v != null && !v.isNull()) throw new IllegalArgumentException(CONFIG + ": unsupported " + field + "=" + v + ", only null is supported");
    }

    private static void requireEmptyOrAbsent(JsonNode config, String field) {
        JsonNode v = config.get(field);
        if (v != null && !v.isNull() && !(v.isObject() && v.isEmpty())) {
            throw new IllegalArgumentException(CONFIG + ": unsupported " + field + "=" + v + ", only {} is supported");
        }
    }

    private static void requireText(String s, String what) {
        if (s == null || s.isBlank()) throw new IllegalArgumentException(what + " must be a non-blank string");
    }
}
