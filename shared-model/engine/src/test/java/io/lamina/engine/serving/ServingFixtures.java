package io.lamina.engine.serving;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/** Random LoRA adapters of a realistic size for serving tests: they move embeddings clearly but sanely. */
final class ServingFixtures {
    private ServingFixtures() {
    }

    static Adapter adapter(BaseModel base, long seed, int rank, List<String> targets, PrototypeHead head) {
        Random rnd = new Random(seed);
        LoraSpec spec = new LoraSpec(rank, 2f * rank, 0f, targets);
        int h = base.hiddenSize();
        Map<String, HostTensor> w = new TreeMap<>();
        for (int l = 0; l < base.layers(); l++) {
            for (String m : targets) {
                w.put(LoraSpec.peftKey(l, m, 'A'), gaussian(rnd, rank, h, 1.0 / Math.sqrt(h)));
                w.put(LoraSpec.peftKey(l, m, 'B'), gaussian(rnd, h, rank, 0.08));
            }
        }
        return Adapter.lora(spec, w, head, base.id(), base.fingerprint(),
                new AdapterProvenance(AdapterProvenance.TRAINED, Map.of("seed", Long.toString(seed))));
    }

    static HostTensor gaussian(Random rnd, int rows, int cols, double std) {
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = (float) (rnd.nextGaussian() * std);
        return new HostTensor(new long[]{rows, cols}, d);
    }

    static final List<String> TEXTS = List.of(
            "A man is eating food.",
            "the striker kicked the ball into the net",
            "bake the muffins in a hot oven until golden",
            "a large striped wild cat that hunts in the jungle",
            "Rain",
            "a slow reptile that carries its shell on its back while walking across the sandy desert at night",
            "she served an ace on match point at Wimbledon",
            "flip the sausages on the barbecue grill",
            "a two-wheeled machine pedalled by the rider",
            "the umpire called the ball out on the baseline",
            "a bowl of hot soup made with vegetables",
            "knead the dough");

    static float maxAbsDiff(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
