package io.lamina.engine.model;

import ai.djl.ndarray.NDArray;
import io.lamina.engine.adapter.lokr.LokrSpec;
import io.lamina.engine.adapter.lokr.SokaSpec;

import java.util.List;
import java.util.function.Function;

/**
 * Kronecker factors on the model's device, for {@link BaseModel#encode}: {@code a[layer][t]} {@code [K, a, c]} and
 * {@code b[layer][t]} {@code [K, b, d]} of target {@code targets.get(t)}, the update being
 * {@code scale · Σ_k a_k ⊗ b_k} minus, when {@code frozenA} is given, {@code scale · Σ_k frozenA_k ⊗ frozenB_k}.
 * PEFT's LoKr is {@code K = 1} with w1/w2 already multiplied out of their low-rank halves; SoKA stacks its
 * components and subtracts its frozen initial ones. The caller owns the arrays.
 */
public record LokrArrays(List<String> targets, NDArray[][] a, NDArray[][] b, NDArray[][] frozenA, NDArray[][] frozenB, float scale) {
    public LokrArrays {
        targets = List.copyOf(targets);
        if (a.length != b.length) throw new IllegalArgumentException("A has " + a.length + " layers, B has " + b.length);
        if ((frozenA == null) != (frozenB == null)) throw new IllegalArgumentException("frozen factors come in pairs");
        for (int l = 0; l < a.length; l++) {
            if (a[l].length != targets.size() || b[l].length != targets.size()) {
                throw new IllegalArgumentException("layer " + l + " needs one factor pair per target " + targets);
            }
        }
    }

    /** Target index of {@code module}, or -1. */
    public int indexOf(String module) {
        return targets.indexOf(module);
    }

    /**
     * PEFT LoKr factors as arrays: w1 ({@code lokr_w1}, or {@code lokr_w1_a · lokr_w1_b}) and w2 likewise, each
     * {@code [1, rows, cols]}, scale {@code alpha / r}. {@code tensor} gives the stored tensor of a PEFT key; the
     * products are DJL ops, so when called inside a recorded step gradients reach the stored halves.
     */
    public static LokrArrays lokr(LokrSpec spec, int layers, Function<String, NDArray> tensor) {
        int targets = spec.targetModules().size();
        NDArray[][] a = new NDArray[layers][targets], b = new NDArray[layers][targets];
        for (int l = 0; l < layers; l++) {
            for (int t = 0; t < targets; t++) {
                String m = spec.targetModules().get(t);
                a[l][t] = factor(l, m, "lokr_w1", tensor);
                b[l][t] = factor(l, m, "lokr_w2", tensor);
            }
        }
        return new LokrArrays(spec.targetModules(), a, b, null, null, spec.scaling());
    }

    private static NDArray factor(int layer, String module, String name, Function<String, NDArray> tensor) {
        NDArray whole = tensor.apply(LokrSpec.peftKey(layer, module, name));
        NDArray w = whole != null ? whole : tensor.apply(LokrSpec.peftKey(layer, module, name + "_a")).matMul(tensor.apply(LokrSpec.peftKey(layer, module, name + "_b")));
        return w.expandDims(0);
    }

    /** SoKA's stacks ({@code [K, m, n]}, {@code [K, p, q]}) and their frozen initial copies, scale 1. */
    public static LokrArrays soka(SokaSpec spec, int layers, Function<String, NDArray> tensor) {
        int targets = spec.targetModules().size();
        NDArray[][] a = new NDArray[layers][targets], b = new NDArray[layers][targets];
        NDArray[][] a0 = new NDArray[layers][targets], b0 = new NDArray[layers][targets];
        for (int l = 0; l < layers; l++) {
            for (int t = 0; t < targets; t++) {
                String m = spec.targetModules().get(t);
                a[l][t] = tensor.apply(SokaSpec.peftKey(l, m, SokaSpec.A));
                b[l][t] = tensor.apply(SokaSpec.peftKey(l, m, SokaSpec.B));
                a0[l][t] = tensor.apply(SokaSpec.peftKey(l, m, SokaSpec.A0));
                b0[l][t] = tensor.apply(SokaSpec.peftKey(l, m, SokaSpec.B0));
            }
        }
        return new LokrArrays(spec.targetModules(), a, b, a0, b0, 1f);
    }
}
