package io.lamina.engine.model;

import ai.djl.ndarray.NDArray;
import io.lamina.engine.adapter.bottleneck.BottleneckLayer;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Position;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Tensor;

/**
 * Bottleneck adapters on the model's device, for {@link BaseModel#encode}: {@code tensors[layer][p][t]} is
 * tensor {@code Tensor.values()[t]} of the adapter at {@code spec.positions().get(p)}, in PyTorch
 * {@code Linear} layout ({@code W_down [b, d]}, {@code b_down [b]}, {@code W_up [d, b]}, {@code b_up [d]}).
 * The caller owns the arrays.
 */
public record BottleneckArrays(BottleneckSpec spec, NDArray[][][] tensors) {
    public BottleneckArrays {
        for (int l = 0; l < tensors.length; l++) {
            if (tensors[l].length != spec.adaptersPerLayer()) {
                throw new IllegalArgumentException("layer " + l + " needs one adapter per position " + spec.positions());
            }
            for (NDArray[] a : tensors[l]) {
                if (a.length != Tensor.values().length) throw new IllegalArgumentException("an adapter has 4 tensors: " + java.util.Arrays.toString(Tensor.values()));
            }
        }
    }

    /** Whether the spec puts an adapter at {@code position}. */
    public boolean has(Position position) {
        return spec.positions().contains(position);
    }

    /** The adapter's output {@code a(h)} at {@code position} of {@code layer}, {@code [N, d]}. */
    public NDArray apply(int layer, Position position, NDArray h) {
        int p = spec.positions().indexOf(position);
        if (p < 0) throw new IllegalArgumentException("no adapter at " + position + " in a " + spec.architecture() + " spec");
        NDArray[] t = tensors[layer][p];
        return BottleneckLayer.forward(h, t[Tensor.DOWN_WEIGHT.ordinal()], t[Tensor.DOWN_BIAS.ordinal()],
                t[Tensor.UP_WEIGHT.ordinal()], t[Tensor.UP_BIAS.ordinal()]);
    }

    /**
     * The sub-layer's contribution to the residual stream: {@code out + a(out)} (sequential) or
     * {@code out + a(in)} (parallel), or {@code out} when no adapter sits at {@code position}.
     *
     * @param in  the sub-layer's input
     * @param out the sub-layer's output (before its residual and LayerNorm)
     */
    public NDArray adapt(int layer, Position position, NDArray in, NDArray out) {
        if (!has(position)) return out;
        return out.add(apply(layer, position, spec.sequential() ? out : in));
    }
}
