package io.lamina.engine.adapter.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.core.Linear;

/**
 * The math of one (IA)^3-wrapped linear layer, as PEFT's {@code IA3Layer.forward} ({@code tuners/ia3/layer.py}):
 * <pre>
 *   feed-forward module:  y = (x ⊙ l) W^T + b        l: [in]   (stored [1, in])
 *   any other module:     y = (x W^T + b) ⊙ l        l: [out]  (stored [out, 1]; the bias is scaled too)
 * </pre>
 * With {@code l} all ones both are the plain layer. The vectors are applied, not merged: merging would
 * scale W's columns (feed-forward) or rows and bias, which needs a copy of the layer's weights per adapter.
 */
public final class Ia3Layer {
    private Ia3Layer() {
    }

    /**
     * @param in          {@code [N, in]}
     * @param weight      {@code [out, in]}
     * @param bias        {@code [out]}
     * @param l           the flat vector, {@code [in]} when {@code feedforward}, else {@code [out]}
     * @return {@code [N, out]}
     */
    public static NDArray forward(NDArray in, NDArray weight, NDArray bias, NDArray l, boolean feedforward) {
        if (feedforward) return Linear.linear(in.mul(l), weight, bias).singletonOrThrow();
        return Linear.linear(in, weight, bias).singletonOrThrow().mul(l);
    }

    /** Output scaling of an output already computed ({@code (x W^T + b) ⊙ l}), for projections the model computes fused. */
    public static NDArray scaleOutput(NDArray out, NDArray l) {
        return out.mul(l);
    }
}
