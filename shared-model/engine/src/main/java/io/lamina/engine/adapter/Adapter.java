package io.lamina.engine.adapter;

import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.mora.RankGate;
import io.lamina.engine.continual.TaskDescriptor;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.tensor.HostTensor;

import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A trained adapter as data: its spec, its weights under PEFT key names
 * ({@link LoraSpec#peftKey}), its classification head, and the base model it belongs to.
 * Nothing here holds native memory.
 *
 * @param baseModelId      e.g. {@code sentence-transformers/all-MiniLM-L6-v2}
 * @param baseFingerprint  sha256 of the base weights; adapters only load onto that base
 * @param descriptor       the representation descriptor of the data it was trained on, or {@code null}
 * @param gate             MoRA's per-token gate over the rank-1 experts ({@link AdapterKind#MORA}), else {@code null}
 */
public record Adapter(AdapterKind kind, LoraSpec spec, SortedMap<String, HostTensor> weights, PrototypeHead head,
                      String baseModelId, String baseFingerprint, AdapterProvenance provenance, TaskDescriptor descriptor,
                      RankGate gate) {
    /**
     * Provenance detail of an adapter that reuses another adapter's weights unchanged with a head of
     * its own (SEMA's "no expansion" case); its weights are not new parameters.
     */
    public static final String SHARES_WEIGHTS_OF = "shares-weights-of";

    public Adapter {
        weights = new TreeMap<>(weights);
        if ((kind == AdapterKind.MORA) != (gate != null)) throw new IllegalArgumentException("a MORA adapter, and only one, has a rank gate");
    }

    public Adapter(AdapterKind kind, LoraSpec spec, SortedMap<String, HostTensor> weights, PrototypeHead head,
                   String baseModelId, String baseFingerprint, AdapterProvenance provenance) {
        this(kind, spec, weights, head, baseModelId, baseFingerprint, provenance, null, null);
    }

    /** Trainable parameters: the adapter's own weights and its head's prototypes. */
    public long trainableParameters() {
        long n = 0;
        boolean shared = provenance != null && provenance.details().containsKey(SHARES_WEIGHTS_OF);
        if (!shared) {
            for (HostTensor t : weights.values()) n += t.data().length;
        }
        for (float[] row : head.prototypes()) n += row.length;
        return n;
    }

    public Adapter withHead(PrototypeHead newHead) {
        return new Adapter(kind, spec, weights, newHead, baseModelId, baseFingerprint, provenance, descriptor, gate);
    }

    public Adapter withDescriptor(TaskDescriptor d) {
        return new Adapter(kind, spec, weights, head, baseModelId, baseFingerprint, provenance, d, gate);
    }

    public Adapter withProvenance(AdapterProvenance p) {
        return new Adapter(kind, spec, weights, head, baseModelId, baseFingerprint, p, descriptor, gate);
    }

    public static Adapter lora(LoraSpec spec, Map<String, HostTensor> weights, PrototypeHead head,
                               String baseModelId, String baseFingerprint, AdapterProvenance provenance) {
        return new Adapter(AdapterKind.LORA, spec, new TreeMap<>(weights), head, baseModelId, baseFingerprint, provenance, null, null);
    }

    /** MoRA: rank-1 experts in LoRA layout ({@code spec.rank()} experts per target), gated per token. */
    public static Adapter mora(LoraSpec spec, Map<String, HostTensor> weights, RankGate gate, PrototypeHead head,
                               String baseModelId, String baseFingerprint, AdapterProvenance provenance) {
        return new Adapter(AdapterKind.MORA, spec, new TreeMap<>(weights), head, baseModelId, baseFingerprint, provenance, null, gate);
    }
}
