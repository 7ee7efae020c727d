package io.lamina.engine.hypernetwork;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.Trajectory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * Adapters made by a generator instead of by training, complete with Lamina's prototype head (the
 * class means of the labelled examples under the generated adapter, and under the base model for
 * retrieval), and the ICM-LoRA training samples a trained adapter contributes.
 */
public final class AdapterGeneration {
    /** Provenance kind of generated adapters; the generator's id is the detail {@value #GENERATED_BY}. */
    public static final String GENERATED = "generated";
    public static final String GENERATED_BY = "generated-by";

    public enum Method {
        ICM_LORA("icm-lora"), GENERATIVE_ADAPTER("generative-adapter");

        private final String wire;

        Method(String wire) {
            this.wire = wire;
        }

        public String wire() { return wire; }

        public static Method fromWire(String s) {
            for (Method m : values()) if (m.wire.equalsIgnoreCase(s) || m.name().equalsIgnoreCase(s)) return m;
            throw new IllegalArgumentException("unknown generation method '" + s + "', known: icm-lora, generative-adapter");
        }
    }

    /**
     * @param weightsNanos time to produce the LoRA factors from the request
     * @param totalNanos   including the head (one forward pass over the examples under the adapter)
     */
    public record Generated(Adapter adapter, long weightsNanos, long totalNanos) {
    }

    private AdapterGeneration() {
    }

    /** GenerativeAdapter: the factors from {@code context} in one pass, the head from {@code examples}. */
    public static Generated fromExamples(BaseModel base, GenerativeAdapter generator, String generatorId, List<LabeledText> context,
                                         List<LabeledText> examples, int maxLength) {
        long t0 = System.nanoTime();
        GenerativeAdapter.ContextState state = generator.emptyState();
        generator.accumulate(base, state, context, maxLength);
        SortedMap<String, HostTensor> weights = generator.loraWeights(state);
        long weightsNanos = System.nanoTime() - t0;
        Map<String, String> details = details(Method.GENERATIVE_ADAPTER, generatorId);
        details.put("context-examples", Integer.toString(context.size()));
        return withHead(base, generator.spec().loraSpec(), weights, examples, maxLength, details, t0, weightsNanos);
    }

    /** ICM-LoRA: the factors decoded for the condition of {@code description} and the examples' classes, the head from them. */
    public static Generated fromDescription(BaseModel base, IcmLora generator, String generatorId, LoraSpec spec, String description,
                                            List<LabeledText> examples, float temperature, long seed, int maxLength) {
        long t0 = System.nanoTime();
        float[] condition = TaskCondition.of(base, description, examples, maxLength);
        SortedMap<String, HostTensor> weights = generator.generate(condition, temperature, seed);
        long weightsNanos = System.nanoTime() - t0;
        Map<String, String> details = details(Method.ICM_LORA, generatorId);
        details.put("temperature", Float.toString(temperature));
        details.put("seed", Long.toString(seed));
        return withHead(base, spec, weights, examples, maxLength, details, t0, weightsNanos);
    }

    /**
     * What a trained LoRA adapter gives ICM-LoRA: its trajectory's snapshots (or only its final
     * weights), each with the task's condition from its description and its head's base-model class means.
     */
    public static List<IcmLora.Checkpoint> icmCheckpoints(BaseModel base, Adapter adapter, String description, List<Trajectory.Snapshot> trajectory) {
        if (adapter.head() == null || adapter.head().basePrototypes() == null) return List.of();
        float[] condition = TaskCondition.of(base, description, adapter.head().basePrototypes());
        List<IcmLora.Checkpoint> out = new ArrayList<>();
        if (trajectory == null || trajectory.isEmpty()) {
            out.add(new IcmLora.Checkpoint(LoraFlattening.flatten(adapter.weights()), condition));
        } else {
            for (Trajectory.Snapshot s : trajectory) out.add(new IcmLora.Checkpoint(LoraFlattening.flatten(s.weights()), condition));
        }
        return out;
    }

    /**
     * Up to {@code k} examples of each class, drawn in a pseudo-random order fixed by {@code seed} (the
     * same request gives the same context, so the same adapter).
     */
    public static List<LabeledText> perClass(List<LabeledText> examples, int k, long seed) {
        List<LabeledText> shuffled = new ArrayList<>(examples);
        java.util.Collections.shuffle(shuffled, new java.util.Random(seed));
        Map<String, Integer> taken = new LinkedHashMap<>();
        List<LabeledText> out = new ArrayList<>();
        for (LabeledText t : shuffled) if (taken.merge(t.label(), 1, Integer::sum) <= k) out.add(t);
        return out;
    }

    /** The labels of {@code examples}, in order of first appearance. */
    public static List<String> labels(List<LabeledText> examples) {
        LinkedHashSet<String> labels = new LinkedHashSet<>();
        for (LabeledText e : examples) labels.add(e.label());
        return List.copyOf(labels);
    }

    private static Generated withHead(BaseModel base, LoraSpec spec, SortedMap<String, HostTensor> weights, List<LabeledText> examples,
                                      int maxLength, Map<String, String> details, long t0, long weightsNanos) {
        if (examples == null || examples.isEmpty()) throw new IllegalArgumentException("labelled examples are needed for the adapter's head");
        details.put("head-examples", Integer.toString(examples.size()));
        details.put("generation-millis", String.format(java.util.Locale.ROOT, "%.1f", weightsNanos / 1e6));
        Adapter weightsOnly = Adapter.lora(spec, weights, null, base.id(), base.fingerprint(), new AdapterProvenance(GENERATED, details));
        PrototypeHead head = new LoraTrainer(base).prototypeHead(weightsOnly, examples, labels(examples), maxLength, 0L);
        return new Generated(weightsOnly.withHead(head), weightsNanos, System.nanoTime() - t0);
    }

    private static Map<String, String> details(Method method, String generatorId) {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("method", method.wire());
        d.put(GENERATED_BY, generatorId);
        return d;
    }
}
