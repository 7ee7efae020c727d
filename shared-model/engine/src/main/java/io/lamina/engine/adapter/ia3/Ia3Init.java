package io.lamina.engine.adapter.ia3;

import io.lamina.engine.tensor.HostTensor;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/** Fresh (IA)^3 vectors as PEFT initialises them ({@code init_ia3_weights=True}): all ones, so the adapted model is the base model. */
public final class Ia3Init {
    private Ia3Init() {
    }

    /** Ones for every layer and target, keyed by {@link Ia3Spec#peftKey}, shaped by {@link Ia3Spec#shape}. */
    public static Map<String, HostTensor> initialWeights(Ia3Spec spec, int layers, int hidden, int intermediate) {
        if (layers < 1 || hidden < 1 || intermediate < 1) throw new IllegalArgumentException("layers, hidden and intermediate must be positive");
        Map<String, HostTensor> out = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (String m : spec.targetModules()) {
                long[] shape = spec.shape(m, hidden, intermediate);
                float[] ones = new float[(int) (shape[0] * shape[1])];
                Arrays.fill(ones, 1f);
                out.put(Ia3Spec.peftKey(l, m), new HostTensor(shape, ones));
            }
        }
        return out;
    }
}
