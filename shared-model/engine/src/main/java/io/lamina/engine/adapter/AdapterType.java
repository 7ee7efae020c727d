package io.lamina.engine.adapter;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The registry of adapter types a stream policy can name ({@code adapter.type}), PEFT's {@code PEFT_TYPE_TO_CONFIG_MAPPING}
 * in spirit: each entry says which engine kind it trains, which {@code peft_type} its files carry, and what the
 * platform can do with it. The training worker resolves a policy's type here, the registry serves the list
 * ({@code GET /api/adapters/types}), and the dashboard and docs describe the types from it.
 *
 * @param id             the policy's name, e.g. {@code lora}
 * @param kind           the engine kind an adapter of this type has
 * @param peftInterchange whether PEFT reads and writes the files ({@code peft_type} a PEFT type): export and import
 * @param mergeable      whether TIES/DARE/task arithmetic and learned merges combine it (plain LoRA deltas only)
 * @param startsAtBase   whether a fresh adapter embeds exactly as the base model does (zero-initialised update)
 * @param summary        one line for people
 */
public record AdapterType(String id, AdapterKind kind, boolean peftInterchange, boolean mergeable, boolean startsAtBase, String summary) {
    public static final List<AdapterType> ALL = List.of(
            new AdapterType("lora", AdapterKind.LORA, true, true, true,
                    "LoRA (rsLoRA with use_rslora) on any of the six linears; init default, pissa, corda-ipm or corda-kpm"),
            new AdapterType("dora", AdapterKind.LORA, true, false, true,
                    "weight-decomposed LoRA (PEFT use_dora): a magnitude vector per target rescales W + sBA"),
            new AdapterType("ia3", AdapterKind.IA3, true, false, true,
                    "(IA)^3: learned vectors rescaling key, value and the FFN's input (PEFT's BERT defaults)"),
            new AdapterType("lokr", AdapterKind.LOKR, true, false, true,
                    "LoKr: a Kronecker product kron(w1, w2) per target, w2 low-rank when r is small (PEFT's LOKR)"),
            new AdapterType("bottleneck", AdapterKind.BOTTLENECK, false, false, true,
                    "Houlsby (attention + FFN) or Pfeiffer (FFN) bottleneck adapters, sequential or parallel, up-projection zero; "
                            + "VL-Adapter sharing with the previous task, MoSA split-and-merge training (bottleneck.mosaExperts)"),
            new AdapterType("prompt", AdapterKind.PROMPT_TUNING, true, false, false,
                    "prompt tuning: rank learned virtual tokens in front of every input (PEFT's PROMPT_TUNING); init random or sample_vocab"),
            new AdapterType("sft", AdapterKind.SFT, false, false, true,
                    "LT-SFT: a sparse diff of the linears' weights (lottery-ticket mask, 1% of entries by default); SFTs compose by addition"));

    /** The type a policy names (case-insensitive), or empty. */
    public static Optional<AdapterType> find(String id) {
        if (id == null) return Optional.empty();
        String key = id.toLowerCase(Locale.ROOT);
        return ALL.stream().filter(t -> t.id().equals(key)).findFirst();
    }

    /** The type a policy names; an unknown one is refused with the list of known ones. */
    public static AdapterType of(String id) {
        return find(id).orElseThrow(() -> new IllegalArgumentException("adapter type '" + id + "' is not supported (supported: " + ids() + ")"));
    }

    public static List<String> ids() { return ALL.stream().map(AdapterType::id).toList(); }

    /** The {@code peft_type} its files carry. */
    public String peftType() { return kind.peftType(); }
}
