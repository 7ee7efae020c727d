package io.lamina.engine.adapter.bottleneck;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.tensor.HostTensor;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The math of MoSA's split and merge ({@link MosaSettings}; Theia-4869/MoSA: {@code Pruner.divide},
 * {@code MoSABlock.merge}, {@code symmetric_KL_loss}).
 *
 * <ul>
 *   <li>Masks: a uniform score per entry (seeded per tensor); expert {@code i} owns the entries whose score
 *       rank falls in the {@code i}-th of {@code N} equal bands (the empirical quantile bands
 *       {@code (q_i, q_{i+1}]}): disjoint, covering, sizes differing by at most one.</li>
 *   <li>Only {@code W_up} is split. Its biases are not: MoSA gives split biases all-ones masks, i.e. {@code N}
 *       independent copies each trained by a {@code 1/N} share of the forwards and averaged at merge; one shared
 *       bias has the same expectation and merged form with one tensor and all of the updates.</li>
 *   <li>Merge: {@code W_merge = (1/N) Σ_i W_i}. The experts share their init and differ only on their own entries,
 *       so this is {@code W_0 + (1/N) Σ_i Δ_i ⊙ m_i}; for the zero-initialised {@code W_up}, {@code (1/N)} times
 *       the union of the modules. MoSA's {@code "joint"} merge (the union, then also divided by N) is not ported.</li>
 * </ul>
 */
public final class Mosa {
    private static final String EXPERT_PREFIX = "mosa.expert.";

    private Mosa() {
    }

    /** The trainer's key of expert {@code i} of tensor {@code peftKey}. */
    public static String expertKey(int expert, String peftKey) {
        return EXPERT_PREFIX + expert + "." + peftKey;
    }

    /**
     * Disjoint masks covering {@code size} entries: {@code masks[i][j] = 1} iff expert {@code i} owns entry {@code j}.
     *
     * @param seed drives the scores; the same seed gives the same masks
     */
    public static float[][] masks(long seed, int size, int experts) {
        if (experts < 1 || size < 0) throw new IllegalArgumentException("experts must be positive and size >= 0");
        SplittableRandom random = new SplittableRandom(seed);
        double[] scores = new double[size];
        Integer[] order = new Integer[size];
        for (int j = 0; j < size; j++) {
            scores[j] = random.nextDouble();
            order[j] = j;
        }
        Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));
        float[][] out = new float[experts][size];
        for (int k = 0; k < size; k++) out[(int) ((long) k * experts / size)][order[k]] = 1f;
        return out;
    }

    /** The masks of one adapter tensor of a run: seeded by the run's seed and the tensor's key. */
    public static float[][] masks(long seed, String peftKey, int size, int experts) {
        return masks(mix(seed, peftKey.hashCode()), size, experts);
    }

    /**
     * Which expert a training forward uses at one adapter: uniform over {@code 0..experts-1}, independent across
     * steps, micro-batches, passes (the consistency term's second forward), layers and positions, and a pure
     * function of them (resumed runs sample as uninterrupted ones).
     */
    public static int expert(long seed, int step, int micro, int pass, int layer, int position, int experts) {
        long z = mix(mix(mix(mix(mix(seed, step), micro), pass), layer), position);
        return (int) Math.floorMod(z, (long) experts);
    }

    /** {@code (1/N) Σ_i W_i}. */
    public static HostTensor merge(java.util.List<HostTensor> experts) {
        HostTensor first = experts.get(0);
        double[] sum = new double[first.data().length];
        for (HostTensor e : experts) {
            if (!Arrays.equals(e.shape(), first.shape())) throw new IllegalArgumentException("experts differ in shape");
            for (int j = 0; j < sum.length; j++) sum[j] += e.data()[j];
        }
        float[] out = new float[sum.length];
        for (int j = 0; j < sum.length; j++) out[j] = (float) (sum[j] / experts.size());
        return new HostTensor(first.shape().clone(), out);
    }

    /**
     * The weights with every split tensor's experts ({@link #expertKey}) replaced by their merge under the tensor's
     * own key; other entries unchanged (a map without experts comes back equal).
     */
    public static Map<String, HostTensor> merged(Map<String, HostTensor> weights) {
        Map<String, HostTensor> out = new TreeMap<>();
        Map<String, java.util.List<HostTensor>> split = new TreeMap<>();
        for (Map.Entry<String, HostTensor> e : weights.entrySet()) {
            String k = e.getKey();
            if (!k.startsWith(EXPERT_PREFIX)) {
                out.put(k, e.getValue());
                continue;
            }
            String rest = k.substring(EXPERT_PREFIX.length());
            int dot = rest.indexOf('.');
            int i = Integer.parseInt(rest.substring(0, dot));
            java.util.List<HostTensor> list = split.computeIfAbsent(rest.substring(dot + 1), x -> new java.util.ArrayList<>());
            while (list.size() <= i) list.add(null);
            list.set(i, e.getValue());
        }
        for (Map.Entry<String, java.util.List<HostTensor>> e : split.entrySet()) {
            if (e.getValue().contains(null)) throw new IllegalArgumentException("missing a MoSA expert of " + e.getKey());
            if (out.containsKey(e.getKey())) throw new IllegalArgumentException(e.getKey() + " is given both whole and split");
            out.put(e.getKey(), merge(e.getValue()));
        }
        return out;
    }

    /**
     * MoSA's consistency term on two forwards' logits {@code [B, C]}: {@code ½[KL(sg p2 ‖ p1) + KL(sg p1 ‖ p2)]},
     * each KL summed over classes and averaged over rows; each side's target carries no gradient (the code's
     * {@code .detach()}). 0 when the logits are equal.
     */
    public static NDArray symmetricKl(NDManager mgr, NDArray logits1, NDArray logits2) {
        NDArray log1 = logits1.logSoftmax(1);
        NDArray log2 = logits2.logSoftmax(1);
        NDArray t1 = log1.stopGradient();
        NDArray t2 = log2.stopGradient();
        NDArray kl21 = t2.exp().mul(t2.sub(log1)).sum();   // KL(sg p2 ‖ p1) summed over rows
        NDArray kl12 = t1.exp().mul(t1.sub(log2)).sum();   // KL(sg p1 ‖ p2)
        long rows = logits1.getShape().get(0);
        return kl21.add(kl12).div(Autograd.constant(mgr, 2f * rows));
    }

    private static long mix(long seed, long value) {
        long z = seed * 0x9E3779B97F4A7C15L + value + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
