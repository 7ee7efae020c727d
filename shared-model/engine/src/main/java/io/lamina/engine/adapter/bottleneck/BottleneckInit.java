package io.lamina.engine.adapter.bottleneck;

import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Position;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Tensor;
import io.lamina.engine.tensor.HostTensor;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Fresh bottleneck adapters, initialised as AdapterTune (MOS) does: {@code W_down} Xavier-uniform
 * ({@code U(±sqrt(6 / (d + b)))}, seeded), {@code b_down = 0}, and <b>{@code W_up = b_up = 0}</b>, so
 * the adapter's output is exactly 0 and the adapted model is the base model until the first update.
 *
 * <p>Why not both zero (PETL-AST's init): with {@code W_down = 0} the bottleneck activations are
 * {@code GELU(0) = 0}, so {@code ∂L/∂W_up = 0}, and with {@code W_up = 0} also {@code ∂L/∂W_down = 0}:
 * only {@code b_up} ever learns. With a random {@code W_down} the first step gives {@code W_up} a
 * gradient, and from then on both halves learn. Why not VL-Adapter's (PyTorch's default) random up:
 * the adapted model would not start at the base model.
 */
public final class BottleneckInit {
    private BottleneckInit() {
    }

    /**
     * @param layers encoder layers to adapt (0..layers-1)
     * @param hidden the encoder's width {@code d}
     * @param seed   same seed, same spec and geometry ⇒ identical weights
     * @return every tensor of {@link BottleneckSpec#expectedShapes}, keyed by {@link BottleneckSpec#peftKey}
     */
    public static Map<String, HostTensor> initialWeights(BottleneckSpec spec, int layers, int hidden, long seed) {
        if (layers < 1 || hidden < 1) throw new IllegalArgumentException("layers and hidden must be positive");
        int b = spec.width(hidden);
        SplittableRandom random = new SplittableRandom(seed);
        double bound = Math.sqrt(6.0 / (hidden + b));
        Map<String, HostTensor> out = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (Position p : spec.positions()) {
                float[] down = new float[b * hidden];
                for (int i = 0; i < down.length; i++) down[i] = (float) random.nextDouble(-bound, bound);
                out.put(BottleneckSpec.peftKey(l, p, Tensor.DOWN_WEIGHT), new HostTensor(Tensor.DOWN_WEIGHT.shape(hidden, b), down));
                out.put(BottleneckSpec.peftKey(l, p, Tensor.DOWN_BIAS), HostTensor.zeros(b));
                out.put(BottleneckSpec.peftKey(l, p, Tensor.UP_WEIGHT), HostTensor.zeros(hidden, b));
                out.put(BottleneckSpec.peftKey(l, p, Tensor.UP_BIAS), HostTensor.zeros(hidden));
            }
        }
        return out;
    }

    /**
     * A new task's starting weights under {@code sharing}: the tensors it shares taken from {@code earlier}
     * (the earlier task's adapter, same spec and geometry), the others from {@code fresh}.
     *
     * @throws IllegalArgumentException when {@code earlier} lacks a shared tensor or has it in another shape
     */
    public static Map<String, HostTensor> shared(BottleneckSharing sharing, Map<String, HostTensor> fresh, Map<String, HostTensor> earlier) {
        Map<String, HostTensor> out = new TreeMap<>();
        for (Map.Entry<String, HostTensor> e : fresh.entrySet()) {
            if (!sharing.shares(tensorOf(e.getKey()))) {
                out.put(e.getKey(), e.getValue());
                continue;
            }
            HostTensor w = earlier.get(e.getKey());
            if (w == null) throw new IllegalArgumentException("the earlier adapter lacks '" + e.getKey() + "' to share (" + sharing + ")");
            if (!Arrays.equals(w.shape(), e.getValue().shape())) {
                throw new IllegalArgumentException("the earlier adapter's '" + e.getKey() + "' has shape " + Arrays.toString(w.shape())
                        + ", this run's " + Arrays.toString(e.getValue().shape()));
            }
            out.put(e.getKey(), w);
        }
        return out;
    }

    /** The tensor a key names (by its {@code .down.weight}-style suffix). */
    public static Tensor tensorOf(String key) {
        for (Tensor t : Tensor.values()) {
            if (key.endsWith(".adapter." + t.suffix())) return t;
        }
        throw new IllegalArgumentException("'" + key + "' is not a bottleneck adapter key");
    }
}
