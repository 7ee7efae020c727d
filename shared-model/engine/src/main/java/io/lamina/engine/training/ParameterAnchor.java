package io.lamina.engine.training;

import io.lamina.engine.tensor.HostTensor;

import java.util.Map;
import java.util.TreeMap;

/**
 * MOS's adapter merging: after every optimiser step the trained factors are pulled toward an anchor,
 * {@code θ ← (1 − m)·θ + m·anchor}, with the anchor the mean of the adapters of earlier tasks. It
 * limits how far a new task's adapter drifts from what earlier tasks learned (parameter-level
 * forgetting), so retrieval mistakes between adapters cost less. Applied once per step as a pure
 * function (MOS's code also re-applies it inside every forward; see METHODS.md §6).
 *
 * @param weights  anchor values under PEFT keys; keys the run does not train are ignored, trained
 *                 keys without an anchor are left alone
 * @param momentum {@code m} in {@code [0, 1]}: 0 is a no-op, 1 replaces the factors by the anchor
 */
public record ParameterAnchor(Map<String, HostTensor> weights, float momentum) {
    public ParameterAnchor {
        if (!(momentum >= 0 && momentum <= 1)) throw new IllegalArgumentException("anchor momentum must be in [0, 1], got " + momentum);
        weights = new TreeMap<>(weights);
    }

    /** The element-wise mean of several adapters' weights (keys and shapes must agree). */
    public static Map<String, HostTensor> mean(java.util.List<? extends Map<String, HostTensor>> adapters) {
        if (adapters.isEmpty()) throw new IllegalArgumentException("the mean of no adapters");
        Map<String, HostTensor> first = adapters.get(0);
        Map<String, HostTensor> out = new TreeMap<>();
        for (Map.Entry<String, HostTensor> e : first.entrySet()) {
            float[] sum = new float[e.getValue().data().length];
            for (Map<String, HostTensor> a : adapters) {
                HostTensor t = a.get(e.getKey());
                if (t == null || !java.util.Arrays.equals(t.shape(), e.getValue().shape())) {
                    throw new IllegalArgumentException("adapters to average disagree on '" + e.getKey() + "'");
                }
                for (int i = 0; i < sum.length; i++) sum[i] += t.data()[i];
            }
            for (int i = 0; i < sum.length; i++) sum[i] /= adapters.size();
            out.put(e.getKey(), new HostTensor(e.getValue().shape(), sum));
        }
        return out;
    }
}
