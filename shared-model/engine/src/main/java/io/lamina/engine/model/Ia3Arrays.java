package io.lamina.engine.model;

import ai.djl.ndarray.NDArray;
import io.lamina.engine.adapter.ia3.Ia3Spec;

/**
 * (IA)^3 vectors on the model's device, for {@link BaseModel#encode}: {@code vectors[layer][t]} is the
 * flat vector of {@code spec.targetModules().get(t)} ({@code [in]} for a feed-forward module, whose input
 * it scales, else {@code [out]}, scaling the output bias included). The caller owns the arrays.
 */
public record Ia3Arrays(Ia3Spec spec, NDArray[][] vectors) {
    public Ia3Arrays {
        for (int l = 0; l < vectors.length; l++) {
            if (vectors[l].length != spec.targetModules().size()) {
                throw new IllegalArgumentException("layer " + l + " needs one vector per target module " + spec.targetModules());
            }
        }
    }

    /** The vector of {@code module} in {@code layer}, or {@code null} when it is not a target. */
    public NDArray of(int layer, String module) {
        int t = spec.targetModules().indexOf(module);
        return t < 0 ? null : vectors[layer][t];
    }
}
