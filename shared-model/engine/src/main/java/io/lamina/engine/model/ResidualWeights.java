package io.lamina.engine.model;

import ai.djl.ndarray.NDArray;

import java.util.Map;

/**
 * Replacement weights for some of the base model's linears in one forward, e.g. PiSSA's and CorDA's frozen
 * residual {@code W_res = W − s·B₀A₀} while their principal factors train. The base model itself is shared by
 * every adapter and never changes; a run that needs another {@code W} passes these instead.
 *
 * @param qkv    fused Q|K|V weight {@code [3H, H]} per layer (query block scaled by the folded attention scale, as
 *               the base model keeps it); the base's own array where no attention projection is replaced
 * @param others {@code [out, in]} weights of the attention output and FFN linears that are replaced, keyed by
 *               {@link #key(int, String)}
 */
public record ResidualWeights(NDArray[] qkv, Map<String, NDArray> others) {
    public ResidualWeights {
        others = Map.copyOf(others);
    }

    public static String key(int layer, String module) { return layer + "/" + module; }

    /** The weight of {@code module} in {@code layer}, or {@code base} when it is not replaced. */
    NDArray weightOr(int layer, String module, NDArray base) {
        NDArray w = others.get(key(layer, module));
        return w != null ? w : base;
    }
}
