package io.lamina.engine.adapter.bottleneck;

import io.lamina.engine.adapter.AdapterConfig;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What a user asks of a bottleneck adapter (Houlsby et al. 2019; Pfeiffer et al. 2021; the sequential and
 * parallel forms of He et al. 2022 as used by PETL-AST): a small two-layer network
 * {@code a(h) = W_up · GELU(W_down · h + b_down) + b_up} next to chosen sub-layers of every encoder layer,
 * {@code W_down [b, d]}, {@code W_up [d, b]}, with {@code b = d / reductionFactor}.
 *
 * <ul>
 *   <li>{@link Architecture#HOULSBY}: an adapter at the attention sub-layer and one at the FFN (2 per layer);
 *       {@link Architecture#PFEIFFER}: one at the FFN only.</li>
 *   <li>{@link Placement#SEQUENTIAL}: the adapter reads the sub-layer's output and adds to it with its own
 *       skip, {@code LN(f(x) + a(f(x)) + x)} (Houlsby's {@code h + a(h)}); {@link Placement#PARALLEL}: it reads
 *       the sub-layer's input, {@code LN(f(x) + a(x) + x)}. With {@code W_up = b_up = 0} both are the base model.</li>
 * </ul>
 * The adapter is non-linear (GELU), so it can never be merged into {@code W}; it is always applied in the
 * forward. Weights are keyed by {@link #peftKey} (PyTorch {@code Linear} layout {@code [out, in]}).
 */
public record BottleneckSpec(Architecture architecture, Placement placement, int reductionFactor) implements AdapterConfig {
    /** VL-Adapter's and AdapterHub's default: 384 / 16 = 24 for MiniLM. */
    public static final int DEFAULT_REDUCTION_FACTOR = 16;
    /** Upper bound on the reduction factor (a wider encoder than 4096 is not served here anyway). */
    public static final int MAX_REDUCTION_FACTOR = 4096;

    /** Which sub-layers get an adapter. */
    public enum Architecture {
        /** Adapters after the attention output and after the FFN. */
        HOULSBY(List.of(Position.ATTENTION, Position.FFN)),
        /** One adapter, after the FFN. */
        PFEIFFER(List.of(Position.FFN));

        private final List<Position> positions;

        Architecture(List<Position> positions) { this.positions = positions; }

        /** The positions in layer order. */
        public List<Position> positions() { return positions; }
    }

    /** Where the adapter reads its input: the sub-layer's output (sequential) or its input (parallel). */
    public enum Placement { SEQUENTIAL, PARALLEL }

    /**
     * A sub-layer an adapter sits at, named by the path of the HF BERT module whose residual it joins
     * ({@code BertSelfOutput} = {@code attention.output}, {@code BertOutput} = {@code output}).
     */
    public enum Position {
        ATTENTION("attention.output"),
        FFN("output");

        private final String path;

        Position(String path) { this.path = path; }

        public String path() { return path; }
    }

    public BottleneckSpec {
        if (architecture == null) throw new IllegalArgumentException("bottleneck architecture is required (HOULSBY or PFEIFFER)");
        if (placement == null) throw new IllegalArgumentException("bottleneck placement is required (SEQUENTIAL or PARALLEL)");
        if (reductionFactor < 1 || reductionFactor > MAX_REDUCTION_FACTOR) {
            throw new IllegalArgumentException("bottleneck reduction factor must be in [1, " + MAX_REDUCTION_FACTOR + "], got " + reductionFactor);
        }
    }

    /** Pfeiffer, sequential, reduction factor 16: the cheapest common configuration. */
    public static BottleneckSpec defaults() {
        return new BottleneckSpec(Architecture.PFEIFFER, Placement.SEQUENTIAL, DEFAULT_REDUCTION_FACTOR);
    }

    public List<Position> positions() { return architecture.positions(); }

    public int adaptersPerLayer() { return positions().size(); }

    public boolean sequential() { return placement == Placement.SEQUENTIAL; }

    /** The bottleneck width {@code b = floor(hidden / reductionFactor)} (VL-Adapter's {@code input_dim // reduction_factor}). */
    public int width(int hidden) {
        if (hidden < 1) throw new IllegalArgumentException("hidden size must be positive, got " + hidden);
        int b = hidden / reductionFactor;
        if (b < 1) {
            throw new IllegalArgumentException("bottleneck reduction factor " + reductionFactor + " leaves no bottleneck on a "
                    + hidden + "-wide encoder (" + hidden + " / " + reductionFactor + " = 0)");
        }
        return b;
    }

    /** Trainable values of one adapter: {@code 2·d·b + b + d}. */
    public long parametersPerAdapter(int hidden) {
        long b = width(hidden);
        return 2L * hidden * b + b + hidden;
    }

    /** Trainable values per encoder layer. */
    public long parametersPerLayer(int hidden) {
        return adaptersPerLayer() * parametersPerAdapter(hidden);
    }

    /** One tensor of an adapter: which projection ({@code down}, {@code up}) and which parameter ({@code weight}, {@code bias}). */
    public enum Tensor {
        DOWN_WEIGHT("down", "weight"), DOWN_BIAS("down", "bias"), UP_WEIGHT("up", "weight"), UP_BIAS("up", "bias");

        private final String projection;
        private final String parameter;

        Tensor(String projection, String parameter) {
            this.projection = projection;
            this.parameter = parameter;
        }

        public boolean isDown() { return projection.equals("down"); }

        public boolean isBias() { return parameter.equals("bias"); }

        /** {@code [b, d]}, {@code [b]}, {@code [d, b]} or {@code [d]} for width {@code d} and bottleneck {@code b}. */
        public long[] shape(int hidden, int width) {
            return switch (this) {
                case DOWN_WEIGHT -> new long[]{width, hidden};
                case DOWN_BIAS -> new long[]{width};
                case UP_WEIGHT -> new long[]{hidden, width};
                case UP_BIAS -> new long[]{hidden};
            };
        }

        String suffix() { return projection + "." + parameter; }
    }

    /** The key of one tensor, e.g. {@code base_model.model.encoder.layer.0.attention.output.adapter.down.weight}. */
    public static String peftKey(int layer, Position position, Tensor tensor) {
        if (layer < 0) throw new IllegalArgumentException("layer must be >= 0, got " + layer);
        return "base_model.model.encoder.layer." + layer + "." + position.path() + ".adapter." + tensor.suffix();
    }

    /** Every key this spec's adapter has on a base of {@code layers} layers and width {@code hidden}, with its shape. */
    public SortedMap<String, long[]> expectedShapes(int layers, int hidden) {
        if (layers < 1) throw new IllegalArgumentException("layers must be positive, got " + layers);
        int b = width(hidden);
        SortedMap<String, long[]> out = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (Position p : positions()) {
                for (Tensor t : Tensor.values()) out.put(peftKey(l, p, t), t.shape(hidden, b));
            }
        }
        return out;
    }
}
