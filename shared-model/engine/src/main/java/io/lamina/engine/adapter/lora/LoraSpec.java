package io.lamina.engine.adapter.lora;

import io.lamina.engine.adapter.AdapterConfig;
import io.lamina.engine.adapter.BertModules;

import java.util.List;
import java.util.Set;

/**
 * What a user asks of a LoRA adapter (PEFT's {@code LoraConfig}): rank {@code r}, scaling
 * {@code alpha / r} ({@code alpha / sqrt(r)} with rsLoRA, PEFT's {@code use_rslora}), dropout on the
 * adapter's input, and which linears of each layer it wraps ({@link BertModules#MODULES}).
 * A is initialised Kaiming-uniform (seeded) and B to zero, so the adapted model equals the base
 * model exactly at step 0. {@code variant} is how the layer applies the factors ({@link LoraVariant};
 * {@code DORA} adds a magnitude vector per target).
 */
public record LoraSpec(int rank, float alpha, float dropout, List<String> targetModules, boolean rslora, LoraVariant variant) implements AdapterConfig {
    /** Every linear of a BERT layer ({@link BertModules#MODULES}): the attention projections, the attention output and the FFN. */
    public static final Set<String> SUPPORTED_TARGETS = Set.copyOf(BertModules.MODULES);

    public LoraSpec {
        if (rank < 1 || rank > 256) throw new IllegalArgumentException("LoRA rank must be in [1, 256], got " + rank);
        if (!(alpha > 0) || Float.isInfinite(alpha)) throw new IllegalArgumentException("LoRA alpha must be a positive number, got " + alpha);
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
        if (targetModules == null || targetModules.isEmpty()) throw new IllegalArgumentException("LoRA needs at least one target module");
        for (String t : targetModules) {
            if (!SUPPORTED_TARGETS.contains(t)) throw new IllegalArgumentException("unsupported LoRA target module '" + t + "', supported: " + BertModules.MODULES);
        }
        targetModules = List.copyOf(targetModules);
        // null: JSON written before variants existed (e.g. stored generator specs) means plain LoRA
        if (variant == null) variant = LoraVariant.STANDARD;
    }

    public LoraSpec(int rank, float alpha, float dropout, List<String> targetModules, boolean rslora) {
        this(rank, alpha, dropout, targetModules, rslora, LoraVariant.STANDARD);
    }

    public LoraSpec(int rank, float alpha, float dropout, List<String> targetModules) {
        this(rank, alpha, dropout, targetModules, false);
    }

    /** The same settings with another variant, e.g. {@code spec.withVariant(LoraVariant.DORA)} for PEFT's {@code use_dora=True}. */
    public LoraSpec withVariant(LoraVariant v) { return new LoraSpec(rank, alpha, dropout, targetModules, rslora, v); }

    /** PEFT's {@code use_dora}. */
    public boolean dora() { return variant == LoraVariant.DORA; }

    /** The defaults Lamina trains with: r=8, alpha=16, dropout 0.1 on query and value. */
    public static LoraSpec defaults() { return new LoraSpec(8, 16f, 0.1f, List.of("query", "value")); }

    /** {@code alpha / r}, or rsLoRA's rank-stabilised {@code alpha / sqrt(r)}. */
    public float scaling() { return (float) exactScaling(); }

    /** {@link #scaling()} in double precision (merges compute in double). */
    public double exactScaling() { return rslora ? alpha / Math.sqrt(rank) : (double) alpha / rank; }

    /**
     * PEFT's key of a DoRA magnitude vector ({@code [out_features]}), e.g.
     * {@code base_model.model.encoder.layer.3.attention.self.query.lora_magnitude_vector}: PEFT's
     * state dict drops the {@code .weight} of its {@code DoraLinearLayer} (and the adapter name).
     */
    public static String magnitudeKey(int layer, String module) {
        return "base_model.model.encoder.layer." + layer + "." + BertModules.path(module) + ".lora_magnitude_vector";
    }

    /**
     * Whether every target is an attention projection (query, key, value): those the base model fuses,
     * whose deltas merges, stacked mixed batches and the generators handle. LoRA on the attention output
     * or the FFN trains, saves, loads and serves, but is applied unmerged in its own forward.
     */
    public boolean attentionOnly() { return BertModules.ATTENTION.containsAll(targetModules); }

    /**
     * PEFT's key for one LoRA factor, e.g. {@code base_model.model.encoder.layer.3.attention.self.query.lora_A.weight}
     * or {@code base_model.model.encoder.layer.3.intermediate.dense.lora_B.weight}.
     */
    public static String peftKey(int layer, String module, char factor) {
        return "base_model.model.encoder.layer." + layer + "." + BertModules.path(module) + ".lora_" + factor + ".weight";
    }
}
