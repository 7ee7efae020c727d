package io.lamina.engine.serving;

import io.lamina.engine.adapter.Adapter;

import java.util.Arrays;
import java.util.List;

/**
 * The LoRA update {@code Σ w_i ΔW_i} of several adapters of one base, with
 * {@code ΔW_i = (alpha_i / r_i) B_i A_i} on each projection adapter {@code i} targets. It is itself a
 * LoRA update of rank {@code Σ r_i} ({@code A} rows stacked, {@code B} columns joined and scaled), which
 * is how {@link MixedAdapterEncoder} applies it: unmerged, next to the base projection.
 * One adapter with weight 1 is that adapter. Two blends are equal when they hold the same adapter
 * instances (by identity, not by content) in the same order with the same weights; equal blends share
 * one slot of a mixed batch.
 *
 * @param adapters LoRA adapters, at least one
 * @param weights  one finite weight per adapter (the array is copied)
 */
public record LoraBlend(List<Adapter> adapters, float[] weights) {
    public LoraBlend {
        if (adapters == null || adapters.isEmpty()) throw new IllegalArgumentException("a blend needs at least one adapter");
        if (weights == null || weights.length != adapters.size()) {
            throw new IllegalArgumentException("a blend needs one weight per adapter: " + adapters.size() + " adapters, "
                    + (weights == null ? "no" : String.valueOf(weights.length)) + " weights");
        }
        for (int i = 0; i < weights.length; i++) {
            if (!Float.isFinite(weights[i])) throw new IllegalArgumentException("blend weight " + i + " must be finite, got " + weights[i]);
        }
        for (int i = 0; i < adapters.size(); i++) {
            if (adapters.get(i) == null) throw new IllegalArgumentException("blend adapter " + i + " is null");
        }
        adapters = List.copyOf(adapters);
        weights = weights.clone();
    }

    /** One adapter, weight 1. */
    public static LoraBlend of(Adapter adapter) {
        return new LoraBlend(List.of(adapter), new float[]{1f});
    }

    /** All adapters with weight 1 (their deltas added). */
    public static LoraBlend sum(List<Adapter> adapters) {
        float[] w = new float[adapters == null ? 0 : adapters.size()];
        Arrays.fill(w, 1f);
        return new LoraBlend(adapters, w);
    }

    /** {@code Σ weights[i] ΔW_i}. */
    public static LoraBlend weighted(List<Adapter> adapters, float... weights) {
        return new LoraBlend(adapters, weights);
    }

    @Override
    public float[] weights() { return weights.clone(); }

    float weight(int i) { return weights[i]; }

    /** Same adapters (by identity) with the same weights: such blends share one slot of a mixed batch. */
    boolean sameAs(LoraBlend o) {
        if (o == this) return true;
        if (o.adapters.size() != adapters.size() || !Arrays.equals(o.weights, weights)) return false;
        for (int i = 0; i < adapters.size(); i++) {
            if (o.adapters.get(i) != adapters.get(i)) return false;
        }
        return true;
    }

    int identityHash() {
        int h = Arrays.hashCode(weights);
        for (Adapter a : adapters) h = 31 * h + System.identityHashCode(a);
        return h;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LoraBlend b && sameAs(b);
    }

    @Override
    public int hashCode() { return identityHash(); }

    @Override
    public String toString() {
        return "LoraBlend[" + adapters.size() + " adapters, weights " + Arrays.toString(weights) + "]";
    }
}
