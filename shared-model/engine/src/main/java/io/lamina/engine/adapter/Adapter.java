package io.lamina.engine.adapter;

import io.lamina.engine.adapter.lora.LoraSpec;
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
 */
public record Adapter(AdapterKind kind, LoraSpec spec, SortedMap<String, HostTensor> weights, PrototypeHead head,
                      String baseModelId, String baseFingerprint, AdapterProvenance provenance) {
    public Adapter {
        weights = new TreeMap<>(weights);
    }

    /** Trainable parameters: the adapter's weights and its head's prototypes. */
    public long trainableParameters() {
        long n = 0;
        for (HostTensor t : weights.values()) n += t.data().length;
        for (float[] row : head.prototypes()) n += row.length;
        return n;
    }

    public static Adapter lora(LoraSpec spec, Map<String, HostTensor> weights, PrototypeHead head,
                               String baseModelId, String baseFingerprint, AdapterProvenance provenance) {
        return new Adapter(AdapterKind.LORA, spec, new TreeMap<>(weights), head, baseModelId, baseFingerprint, provenance);
    }
}
