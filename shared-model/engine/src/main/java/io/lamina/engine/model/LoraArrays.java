package io.lamina.engine.model;

import ai.djl.ndarray.NDArray;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.mora.RankGate;

/**
 * LoRA factors on the model's device, for {@link BaseModel#encode}: {@code a[layer][t]} is
 * {@code [rank, hidden]} and {@code b[layer][t]} is {@code [hidden, rank]}, where {@code t}
 * indexes {@code spec.targetModules()}. The projection {@code y = x W^T + b} of a target
 * becomes {@code y + scaling * dropout(x) A^T B^T}, or with a MoRA {@code gate}
 * {@code y + scaling * (w ⊙ dropout(x) A^T) B^T} with {@code w} the per-token expert weights. With a
 * DoRA spec, {@code magnitude[layer][t]} is the {@code [hidden]} magnitude vector of that target
 * ({@link io.lamina.engine.adapter.lora.Dora}); otherwise {@code null}. The caller owns the arrays.
 */
public record LoraArrays(LoraSpec spec, NDArray[][] a, NDArray[][] b, RankGate gate, NDArray[][] magnitude) {
    public LoraArrays(LoraSpec spec, NDArray[][] a, NDArray[][] b) {
        this(spec, a, b, null, null);
    }

    public LoraArrays(LoraSpec spec, NDArray[][] a, NDArray[][] b, RankGate gate) {
        this(spec, a, b, gate, null);
    }

    public LoraArrays {
        if (a.length != b.length) throw new IllegalArgumentException("A has " + a.length + " layers, B has " + b.length);
        for (int l = 0; l < a.length; l++) {
            if (a[l].length != spec.targetModules().size() || b[l].length != spec.targetModules().size()) {
                throw new IllegalArgumentException("layer " + l + " needs one A and one B per target module " + spec.targetModules());
            }
        }
        if (spec.variant().hasMagnitude() != (magnitude != null)) {
            throw new IllegalArgumentException("a " + spec.variant() + " LoRA " + (magnitude == null ? "needs" : "has no") + " magnitude vectors");
        }
        if (magnitude != null && gate != null) throw new IllegalArgumentException("DoRA magnitudes and a MoRA gate cannot be combined");
        if (magnitude != null && magnitude.length != a.length) throw new IllegalArgumentException("magnitudes for " + magnitude.length + " layers, factors for " + a.length);
    }
}
