package io.lamina.engine.adapter.lokr;

import io.lamina.engine.tensor.HostTensor;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Fresh LoKr factors as PEFT initialises them ({@code init_weights=True}, {@code LoKrLayer.reset_adapter_parameters}):
 * w1 (or w1_a) zeros, everything else Kaiming-uniform with {@code a = sqrt(5)}, i.e. uniform in
 * {@code ±1/sqrt(fan_in)} with {@code fan_in} the tensor's column count. w1 = 0 makes {@code kron(w1, w2) = 0},
 * so the adapted model is the base model while w2 still gives w1 a gradient.
 */
public final class LokrInit {
    private LokrInit() {
    }

    /** Every layer's and target's tensors, keyed by {@link LokrSpec#peftKey}, seeded. */
    public static Map<String, HostTensor> initialWeights(LokrSpec spec, int layers, int hidden, int intermediate, long seed) {
        if (layers < 1 || hidden < 1 || intermediate < 1) throw new IllegalArgumentException("layers, hidden and intermediate must be positive");
        SplittableRandom random = new SplittableRandom(seed ^ 0x10C4L);
        Map<String, HostTensor> out = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (String m : spec.targetModules()) {
                for (Map.Entry<String, long[]> e : spec.shapes(m, hidden, intermediate).entrySet()) {
                    long[] shape = e.getValue();
                    float[] v = new float[(int) (shape[0] * shape[1])];
                    boolean zero = e.getKey().equals("lokr_w1") || e.getKey().equals("lokr_w1_a");
                    if (!zero) {
                        double bound = 1.0 / Math.sqrt(shape[1]);
                        for (int i = 0; i < v.length; i++) v[i] = (float) ((2 * random.nextDouble() - 1) * bound);
                    }
                    out.put(LokrSpec.peftKey(l, m, e.getKey()), new HostTensor(shape, v));
                }
            }
        }
        return out;
    }
}
