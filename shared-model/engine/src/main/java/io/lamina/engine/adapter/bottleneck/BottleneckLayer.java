package io.lamina.engine.adapter.bottleneck;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;

/**
 * The math of one bottleneck adapter, {@code a(h) = W_up · GELU(W_down · h + b_down) + b_up} on rows
 * {@code h [N, d]}. GELU is the exact (erf) form, the one MiniLM's FFN and AdapterTune's {@code nn.GELU}
 * use (VL-Adapter uses the tanh approximation {@code gelu_new}; the difference is below 1e-3 per unit).
 * The skip connection is not part of it: {@code BaseModel} adds the adapter's output to the residual
 * stream where {@link BottleneckSpec.Placement} says.
 */
public final class BottleneckLayer {
    private BottleneckLayer() {
    }

    /**
     * @param h        {@code [N, d]}
     * @param downW    {@code [b, d]}
     * @param downB    {@code [b]}
     * @param upW      {@code [d, b]}
     * @param upB      {@code [d]}
     * @return {@code [N, d]}; exactly 0 when {@code upW} and {@code upB} are 0
     */
    public static NDArray forward(NDArray h, NDArray downW, NDArray downB, NDArray upW, NDArray upB) {
        NDArray z = Activation.gelu(Linear.linear(h, downW, downB).singletonOrThrow());
        return Linear.linear(z, upW, upB).singletonOrThrow();
    }
}
