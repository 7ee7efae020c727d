package io.lamina.engine.adapter.lora;

import io.lamina.engine.adapter.BertModules;
import io.lamina.engine.tensor.HostTensor;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Fresh LoRA factors as PEFT initialises them: {@code A} Kaiming-uniform with
 * {@code a = sqrt(5)}, i.e. uniform in {@code [-1/sqrt(in), 1/sqrt(in)]}, and {@code B} zero, so
 * the adapted model equals the base model until the first update.
 */
public final class LoraInit {
    private LoraInit() {
    }

    /**
     * Factors for specs on the attention projections only (every one {@code hidden} wide); a spec with
     * attention-output or FFN targets needs {@link #initialWeights(LoraSpec, int, int, int, long)}.
     *
     * @param layers encoder layers to wrap (0..layers-1)
     * @param hidden in and out features of each wrapped projection
     * @param seed   same seed, same spec ⇒ identical factors
     * @return {@code A [rank, hidden]} and {@code B [hidden, rank]} per layer and target, keyed by {@link LoraSpec#peftKey}
     */
    public static Map<String, HostTensor> initialWeights(LoraSpec spec, int layers, int hidden, long seed) {
        for (String t : spec.targetModules()) {
            if (BertModules.usesIntermediate(t)) throw new IllegalArgumentException("LoRA on '" + t + "' needs the FFN width: use initialWeights(spec, layers, hidden, intermediate, seed)");
        }
        return initialWeights(spec, layers, hidden, 1, seed);
    }

    /**
     * @param intermediate FFN width (the in features of {@code output.dense}, the out features of {@code intermediate.dense})
     * @return {@code A [rank, in]} and {@code B [out, rank]} per layer and target, keyed by {@link LoraSpec#peftKey}
     */
    public static Map<String, HostTensor> initialWeights(LoraSpec spec, int layers, int hidden, int intermediate, long seed) {
        if (layers < 1 || hidden < 1 || intermediate < 1) throw new IllegalArgumentException("layers, hidden and intermediate must be positive");
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, HostTensor> out = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            // canonical order, so the draws do not depend on the order of targetModules (and the attention ones come first, as before)
            for (String module : BertModules.MODULES) {
                if (!spec.targetModules().contains(module)) continue;
                int in = BertModules.inFeatures(module, hidden, intermediate), outF = BertModules.outFeatures(module, hidden, intermediate);
                double bound = 1.0 / Math.sqrt(in);
                float[] a = new float[spec.rank() * in];
                for (int i = 0; i < a.length; i++) a[i] = (float) random.nextDouble(-bound, bound);
                out.put(LoraSpec.peftKey(l, module, 'A'), new HostTensor(new long[]{spec.rank(), in}, a));
                out.put(LoraSpec.peftKey(l, module, 'B'), HostTensor.zeros(outF, spec.rank()));
            }
        }
        return out;
    }
}
