package io.lamina.engine.adapter;

import io.lamina.engine.adapter.bottleneck.BottleneckSpec;
import io.lamina.engine.adapter.ia3.Ia3Spec;
import io.lamina.engine.adapter.lokr.LokrSpec;
import io.lamina.engine.adapter.lokr.SokaSpec;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.prompt.PromptTuningSpec;
import io.lamina.engine.adapter.sft.SftSpec;

/** Adapter types the engine knows. New types are added here first, then get their own package. */
public enum AdapterKind {
    LORA("LORA", LoraSpec.class),
    /**
     * MoRA: LoRA-shaped factors whose rank-1 experts are gated per token ({@code RankGate}). Not a
     * PEFT type: PEFT would apply the factors ungated, so its {@code peft_type} makes PEFT refuse it.
     */
    MORA("LAMINA_MORA", LoraSpec.class),
    /**
     * (IA)^3: learned vectors rescaling activations of chosen linears ({@code Ia3Spec}); PEFT's {@code IA3}.
     * Its weights are {@code ia3_l} vectors, not LoRA factors.
     */
    IA3("IA3", Ia3Spec.class),
    /**
     * LoKr: a Kronecker-product update {@code ΔW = (alpha/r) · kron(w1, w2)} per wrapped linear ({@code LokrSpec});
     * PEFT's {@code LOKR} ({@code LoKrConfig}). Its weights are {@code lokr_w1}/{@code lokr_w2} (or their low-rank
     * halves), not LoRA factors.
     */
    LOKR("LOKR", LokrSpec.class),
    /**
     * SoKA: a sum of Kronecker products initialised from the KPSVD of the pretrained weights, with the initial
     * factors kept frozen and subtracted ({@code SokaSpec}). Not a PEFT type: PEFT's LoKr holds one Kronecker
     * product and cannot express the frozen residual, so its {@code peft_type} makes PEFT refuse it.
     */
    SOKA("LAMINA_SOKA", SokaSpec.class),
    /**
     * Bottleneck adapters (Houlsby / Pfeiffer, sequential or parallel; {@code BottleneckSpec}). PEFT has no
     * bottleneck adapters, so its {@code peft_type} makes PEFT refuse the file; AdapterHub's format (its own
     * {@code adapter_config.json} and {@code pytorch_adapter.bin}) is a different one. Not mergeable: GELU
     * sits between its projections.
     */
    BOTTLENECK("LAMINA_BOTTLENECK", BottleneckSpec.class),
    /**
     * Prompt tuning (Lester et al. 2021; PEFT's {@code PROMPT_TUNING}, {@code PromptTuningConfig}): learned virtual
     * token embeddings prepended to the input embeddings ({@code PromptTuningSpec}). Its one tensor is PEFT's
     * {@code prompt_embeddings} {@code [num_virtual_tokens, hidden]}; no weight of the base changes, so nothing merges.
     */
    PROMPT_TUNING("PROMPT_TUNING", PromptTuningSpec.class),
    /**
     * Composable sparse fine-tuning (LT-SFT, {@code SftSpec}): a sparse diff {@code φ} of chosen linears' weights,
     * served as {@code W + φ}; several SFTs compose by addition. PEFT has no SFT type, and composable-sft's own
     * format (pickled {@code pytorch_diff.bin}) is a different one, so its {@code peft_type} makes PEFT refuse it.
     */
    SFT("LAMINA_SFT", SftSpec.class);

    private final String peftType;
    private final Class<? extends AdapterConfig> configType;

    AdapterKind(String peftType, Class<? extends AdapterConfig> configType) {
        this.peftType = peftType;
        this.configType = configType;
    }

    /** The class of the settings an adapter of this kind holds. */
    public Class<? extends AdapterConfig> configType() { return configType; }

    /** The value of {@code peft_type} in PEFT's {@code adapter_config.json}. */
    public String peftType() { return peftType; }

    /** Whether the adapter's weights are LoRA factors described by a {@code LoraSpec} (LoRA, DoRA, MoRA). */
    public boolean isLoraShaped() { return this == LORA || this == MORA; }

    /** Whether the adapter's weights are Kronecker factors ({@code LOKR} with a {@code LokrSpec}, {@code SOKA} with a {@code SokaSpec}). */
    public boolean isKronecker() { return this == LOKR || this == SOKA; }
}
