package io.lamina.engine.io;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.tensor.HostTensor;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/** Small random adapters for tests. */
public final class AdapterFixtures {
    private AdapterFixtures() {
    }

    public static HostTensor random(Random rnd, long rows, long cols) {
        float[] d = new float[Math.toIntExact(rows * cols)];
        for (int i = 0; i < d.length; i++) d[i] = (float) rnd.nextGaussian();
        return new HostTensor(new long[]{rows, cols}, d);
    }

    public static Adapter randomAdapter(long seed, LoraSpec spec, int layers, int hidden, List<String> labels, String fingerprint) {
        Random rnd = new Random(seed);
        Map<String, HostTensor> w = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (String m : spec.targetModules()) {
                w.put(LoraSpec.peftKey(l, m, 'A'), random(rnd, spec.rank(), hidden));
                w.put(LoraSpec.peftKey(l, m, 'B'), random(rnd, hidden, spec.rank()));
            }
        }
        float[][] protos = new float[labels.size()][hidden];
        for (float[] row : protos) for (int j = 0; j < hidden; j++) row[j] = (float) rnd.nextGaussian();
        return Adapter.lora(spec, w, new PrototypeHead(labels, protos, 16f), "sentence-transformers/all-MiniLM-L6-v2", fingerprint,
                new AdapterProvenance(AdapterProvenance.TRAINED, Map.of("seed", Long.toString(seed), "steps", "100")));
    }
}
