package io.lamina.engine.merge;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.tensor.HostTensor;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Task arithmetic (Ilharco et al. 2023) over LoRA adapters, exactly: the weighted sum {@code Σ w_i ΔW_i} of the
 * updates {@code ΔW_i = s_i · B_i · A_i} is itself a LoRA update of rank {@code Σ r_i} (factors concatenated).
 * This is {@link AdapterMerger#merge} with method {@code task_arithmetic}; kept as a shortcut, together with
 * {@link #deltaWeight}, the update one adapter applies.
 */
public final class TaskArithmeticMerge {

    public static final String METHOD = AdapterMerger.TASK_ARITHMETIC;

    private TaskArithmeticMerge() {
    }

    /**
     * Merges adapters into one that applies {@code Σ w_i ΔW_i}; same as
     * {@code AdapterMerger.merge(adapters, MergeRecipe.of("task_arithmetic", weights), provenanceDetails)}.
     */
    public static Adapter merge(List<Adapter> adapters, List<Double> weights, Map<String, String> provenanceDetails) {
        if (adapters == null || adapters.isEmpty()) throw new IllegalArgumentException("merge needs at least one adapter");
        if (weights == null) throw new IllegalArgumentException("merge needs one weight per adapter: " + adapters.size() + " adapters, no weights");
        return AdapterMerger.merge(adapters, MergeRecipe.of(METHOD, weights), provenanceDetails);
    }

    /** The weight update {@code s · B · A} an adapter applies at one site, as [out, in]. */
    public static HostTensor deltaWeight(Adapter adapter, int layer, String module) {
        if (adapter == null) throw new IllegalArgumentException("adapter must not be null");
        adapter.requireLinearLora("a LoRA delta weight");
        HostTensor a = adapter.weights().get(LoraSpec.peftKey(layer, module, 'A'));
        HostTensor b = adapter.weights().get(LoraSpec.peftKey(layer, module, 'B'));
        if (a == null || b == null) throw new IllegalArgumentException("adapter has no LoRA weights at layer " + layer + " " + module);
        if (a.shape().length != 2 || b.shape().length != 2 || b.cols() != a.rows()) {
            throw new IllegalArgumentException("LoRA factors at layer " + layer + " " + module + " do not chain: B " + Arrays.toString(b.shape()) + ", A " + Arrays.toString(a.shape()));
        }
        int r = a.rows(), in = a.cols(), out = b.rows();
        double s = adapter.spec().scaling();
        float[] d = new float[out * in];
        double[] row = new double[in];
        for (int o = 0; o < out; o++) {
            Arrays.fill(row, 0.0);
            for (int k = 0; k < r; k++) {
                double bv = b.data()[o * r + k];
                if (bv == 0.0) continue;
                int aOff = k * in;
                for (int j = 0; j < in; j++) row[j] += bv * a.data()[aOff + j];
            }
            for (int j = 0; j < in; j++) d[o * in + j] = (float) (s * row[j]);
        }
        return new HostTensor(new long[]{out, in}, d);
    }
}
