package io.lamina.engine.adapter.lora;

import io.lamina.engine.tensor.HostTensor;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Fresh LoRA factors as PEFT initialises them: {@code A} Kaiming-uniform with
 * {@code a = sqrt(5)}, i.e. uniform in {@code [-1/sqrt(in), 1/sqrt(in)]}, and {@code B} zero, so
 * the adapted model equals the base model until the first update.
 */
public final class LoraInit {
    /** Canonical order the factors are drawn in, so the result does not depend on the order of {@code targetModules}. */
    private static final List<String> ORDER = List.of("query", "key", "value");

    private LoraInit() {
    }

    /**
     * @param layers encoder layers to wrap (0..layers-1)
     * @param hidden in and out features of each wrapped projection
     * @param seed   same seed, same spec ⇒ identical factors
     * @return {@code A [rank, hidden]} and {@code B [hidden, rank]} per layer and target, keyed by {@link LoraSpec#peftKey}
     */
    public static Map<String, HostTensor> initialWeights(LoraSpec spec, int layers, int hidden, long seed) {
        if (layers < 1 || hidden < 1) throw new IllegalArgumentException("layers and hidden must be positive");
        SplittableRandom random = new SplittableRandom(seed);
        double bound = 1.0 / Math.sqrt(hidden);
        Map<String, HostTensor> out = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (String module : ORDER) {
                if (!spec.targetModules().contains(module)) continue;
                float[] a = new float[spec.rank() * hidden];
                for (int i = 0; i < a.length; i++) a[i] = (float) random.nextDouble(-bound, bound);
                out.put(LoraSpec.peftKey(l, module, 'A'), new HostTensor(new long[]{spec.rank(), hidden}, a));
                out.put(LoraSpec.peftKey(l, module, 'B'), HostTensor.zeros(hidden, spec.rank()));
            }
        }
        return out;
    }
}
