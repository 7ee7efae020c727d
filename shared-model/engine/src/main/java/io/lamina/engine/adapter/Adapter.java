package io.lamina.engine.adapter;

import io.lamina.engine.adapter.bottleneck.BottleneckSpec;
import io.lamina.engine.adapter.ia3.Ia3Spec;
import io.lamina.engine.adapter.lokr.LokrSpec;
import io.lamina.engine.adapter.lokr.SokaSpec;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.mora.RankGate;
import io.lamina.engine.adapter.prompt.PromptTuningSpec;
import io.lamina.engine.adapter.sft.SftSpec;
import io.lamina.engine.continual.TaskDescriptor;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.tensor.HostTensor;

import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A trained adapter as data: its kind and settings, its weights under PEFT key names, its classification head, and
 * the base model it belongs to. Nothing here holds native memory.
 *
 * @param kind             what the weights are (LoRA, MoRA, (IA)^3, LoKr, SoKA, bottleneck, prompt tuning, SFT)
 * @param config           the kind's settings, of the class {@link AdapterKind#configType()} names; read them through
 *                         {@link #spec()}, {@link #ia3()}, {@link #lokr()}, {@link #soka()}, {@link #bottleneck()},
 *                         {@link #prompt()} or {@link #sft()}, each {@code null} for the other kinds
 * @param baseModelId      e.g. {@code sentence-transformers/all-MiniLM-L6-v2}
 * @param baseFingerprint  sha256 of the base weights; adapters only load onto that base
 * @param descriptor       the representation descriptor of the data it was trained on, or {@code null}
 * @param gate             MoRA's per-token gate over the rank-1 experts ({@link AdapterKind#MORA}), else {@code null}
 */
public record Adapter(AdapterKind kind, AdapterConfig config, SortedMap<String, HostTensor> weights, PrototypeHead head,
                      String baseModelId, String baseFingerprint, AdapterProvenance provenance, TaskDescriptor descriptor,
                      RankGate gate) {
    /**
     * Provenance detail of an adapter that reuses another adapter's weights unchanged with a head of
     * its own (SEMA's "no expansion" case); its weights are not new parameters.
     */
    public static final String SHARES_WEIGHTS_OF = "shares-weights-of";

    public Adapter {
        weights = new TreeMap<>(weights);
        if (kind == null) throw new IllegalArgumentException("an adapter needs a kind");
        if (!kind.configType().isInstance(config)) {
            throw new IllegalArgumentException("a " + kind + " adapter needs a " + kind.configType().getSimpleName()
                    + (config == null ? "" : ", not a " + config.getClass().getSimpleName()));
        }
        if ((kind == AdapterKind.MORA) != (gate != null)) throw new IllegalArgumentException("a MORA adapter, and only one, has a rank gate");
        if (gate != null && ((LoraSpec) config).dora()) throw new IllegalArgumentException("a MoRA adapter cannot use DoRA");
    }

    public Adapter(AdapterKind kind, AdapterConfig config, SortedMap<String, HostTensor> weights, PrototypeHead head,
                   String baseModelId, String baseFingerprint, AdapterProvenance provenance) {
        this(kind, config, weights, head, baseModelId, baseFingerprint, provenance, null, null);
    }

    /** The LoRA settings of the LoRA-shaped kinds (LORA, incl. DoRA, and MORA), else {@code null}. */
    public LoraSpec spec() { return AdapterConfig.as(config, LoraSpec.class); }

    /** The (IA)^3 settings of an {@link AdapterKind#IA3} adapter (weights keyed by {@link Ia3Spec#peftKey}), else {@code null}. */
    public Ia3Spec ia3() { return AdapterConfig.as(config, Ia3Spec.class); }

    /** The LoKr settings of an {@link AdapterKind#LOKR} adapter (weights keyed by {@link LokrSpec#peftKey}), else {@code null}. */
    public LokrSpec lokr() { return AdapterConfig.as(config, LokrSpec.class); }

    /** The SoKA settings of an {@link AdapterKind#SOKA} adapter (weights keyed by {@link SokaSpec#peftKey}), else {@code null}. */
    public SokaSpec soka() { return AdapterConfig.as(config, SokaSpec.class); }

    /** The settings of a {@link AdapterKind#BOTTLENECK} adapter (weights keyed by {@link BottleneckSpec#peftKey}), else {@code null}. */
    public BottleneckSpec bottleneck() { return AdapterConfig.as(config, BottleneckSpec.class); }

    /** The settings of a {@link AdapterKind#PROMPT_TUNING} adapter (one tensor, {@link PromptTuningSpec#PEFT_KEY}), else {@code null}. */
    public PromptTuningSpec prompt() { return AdapterConfig.as(config, PromptTuningSpec.class); }

    /** The settings of an {@link AdapterKind#SFT} adapter (sparse diffs keyed by {@link SftSpec#peftKey}), else {@code null}. */
    public SftSpec sft() { return AdapterConfig.as(config, SftSpec.class); }

    /**
     * Trainable parameters: the adapter's own weights (not SoKA's frozen initial factors; of an SFT only the stored
     * diff values, not their positions and shapes) and its head's prototypes.
     */
    public long trainableParameters() {
        long n = 0;
        boolean shared = provenance != null && provenance.details().containsKey(SHARES_WEIGHTS_OF);
        if (!shared) {
            for (Map.Entry<String, HostTensor> e : weights.entrySet()) {
                if (kind == AdapterKind.SOKA && (e.getKey().endsWith("." + SokaSpec.A0) || e.getKey().endsWith("." + SokaSpec.B0))) continue;
                if (kind == AdapterKind.SFT && SftSpec.isIntegerKey(e.getKey())) continue;
                n += e.getValue().data().length;
            }
            // PiSSA / CorDA: the stored rank-2r LoRA's second half is the frozen start [−B₀ | A₀], not trained
            String initRank = provenance == null ? null : provenance.details().get("init-rank");
            if (kind == AdapterKind.LORA && initRank != null && 2 * Integer.parseInt(initRank) == spec().rank()) n /= 2;
        }
        for (float[] row : head.prototypes()) n += row.length;
        return n;
    }

    public Adapter withHead(PrototypeHead newHead) {
        return new Adapter(kind, config, weights, newHead, baseModelId, baseFingerprint, provenance, descriptor, gate);
    }

    public Adapter withDescriptor(TaskDescriptor d) {
        return new Adapter(kind, config, weights, head, baseModelId, baseFingerprint, provenance, d, gate);
    }

    public Adapter withProvenance(AdapterProvenance p) {
        return new Adapter(kind, config, weights, head, baseModelId, baseFingerprint, p, descriptor, gate);
    }

    /**
     * Whether the adapter's update is a plain low-rank delta {@code ΔW = s B A} (LoRA without DoRA):
     * what merges, blends and stacking can combine. DoRA rescales {@code W + ΔW} per row, MoRA gates
     * per token, (IA)^3 multiplies activations and a bottleneck adapter applies GELU between its
     * projections, so none of them is a sum of deltas.
     */
    public boolean isLinearLora() {
        return kind == AdapterKind.LORA && spec().variant().isLinearDelta();
    }

    /**
     * A plain LoRA on the attention projections only: what merges, stacked mixed batches and the
     * hypernetwork's generators combine (they work on the fused Q|K|V deltas). LoRA on the attention
     * output or the FFN is linear too but is applied at those layers, in its own forward.
     */
    public boolean isStackableLora() {
        return isLinearLora() && spec().attentionOnly();
    }

    /** Refuses an adapter that is not {@link #isStackableLora()}, naming what it is and why. */
    public void requireStackableLora(String what) {
        requireLinearLora(what);
        if (!spec().attentionOnly()) {
            throw new IllegalArgumentException(what + " works on LoRA deltas of query, key and value; this adapter also targets "
                    + spec().targetModules().stream().filter(t -> !io.lamina.engine.adapter.BertModules.ATTENTION.contains(t)).toList());
        }
    }

    /**
     * Refuses an adapter that is not {@link #isLinearLora()}, naming what it is and why, for the
     * operations that add LoRA deltas ({@code what}: e.g. "merging", "a weighted blend").
     */
    public void requireLinearLora(String what) {
        if (isLinearLora()) return;
        String why = switch (kind) {
            case MORA -> "a MoRA adapter gates its experts per token";
            case IA3 -> "an (IA)^3 adapter rescales activations, it has no low-rank delta";
            case LOKR -> "a LoKr adapter's update is a Kronecker product (alpha/r)·kron(w1, w2), not LoRA factors B A";
            case SOKA -> "a SoKA adapter's update is a difference of sums of Kronecker products, not LoRA factors B A";
            case SFT -> "an SFT adapter's update is a sparse diff of the weights, not LoRA factors B A; "
                    + "SFTs compose by addition (Sft.compose)";
            case BOTTLENECK -> "a bottleneck adapter is a non-linear module (GELU between its down- and up-projection), "
                    + "so it cannot be merged into W or added to other adapters' deltas";
            case PROMPT_TUNING -> "a prompt-tuning adapter prepends learned virtual tokens to the input and changes no weight, "
                    + "so it has no delta to merge into W or add to other adapters'";
            case LORA -> "a DoRA adapter rescales each row of W + BA by its magnitude, so its update is not a delta "
                    + "independent of W that can be added to others";
        };
        throw new IllegalArgumentException(what + " needs plain LoRA adapters: " + why);
    }

    public static Adapter lora(LoraSpec spec, Map<String, HostTensor> weights, PrototypeHead head,
                               String baseModelId, String baseFingerprint, AdapterProvenance provenance) {
        return of(spec, weights, head, baseModelId, baseFingerprint, provenance);
    }

    /**
     * An adapter of the kind its settings name (a {@code LoraSpec} makes a LoRA; MoRA, which also has one, is
     * {@link #mora}): (IA)^3 vectors keyed by {@link Ia3Spec#peftKey}, LoKr factors by {@link LokrSpec#peftKey},
     * SoKA stacks by {@link SokaSpec#peftKey}, bottleneck tensors by {@link BottleneckSpec#peftKey}, PEFT's
     * {@code prompt_embeddings} ({@link PromptTuningSpec#PEFT_KEY}) or sparse diffs by {@link SftSpec#peftKey}.
     */
    public static Adapter of(AdapterConfig config, Map<String, HostTensor> weights, PrototypeHead head,
                             String baseModelId, String baseFingerprint, AdapterProvenance provenance) {
        if (config == null) throw new IllegalArgumentException("an adapter needs its settings");
        AdapterKind kind = java.util.Arrays.stream(AdapterKind.values()).filter(k -> k.configType().isInstance(config)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no adapter kind holds a " + config.getClass().getSimpleName()));
        return new Adapter(kind, config, new TreeMap<>(weights), head, baseModelId, baseFingerprint, provenance, null, null);
    }

    /** MoRA: rank-1 experts in LoRA layout ({@code spec.rank()} experts per target), gated per token. */
    public static Adapter mora(LoraSpec spec, Map<String, HostTensor> weights, RankGate gate, PrototypeHead head,
                               String baseModelId, String baseFingerprint, AdapterProvenance provenance) {
        return new Adapter(AdapterKind.MORA, spec, new TreeMap<>(weights), head, baseModelId, baseFingerprint, provenance, null, gate);
    }
}
