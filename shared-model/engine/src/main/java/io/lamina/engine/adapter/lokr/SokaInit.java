package io.lamina.engine.adapter.lokr;

import io.lamina.engine.tensor.HostTensor;

import java.util.Map;
import java.util.TreeMap;

/**
 * SoKA's initial factors: for every layer and target, the KPSVD of the pretrained {@code W} (double precision),
 * its rank by {@link Kpsvd#selectRank}, and the top components stacked as {@code A [K, m, n]}, {@code B [K, p, q]}
 * twice, once trainable ({@link SokaSpec#A}, {@link SokaSpec#B}) and once frozen ({@link SokaSpec#A0},
 * {@link SokaSpec#B0}), so the adapted model starts exactly at the base model.
 */
public final class SokaInit {
    private SokaInit() {
    }

    /** The pretrained weight {@code [out, in]} of a module in a layer (PyTorch's {@code nn.Linear.weight} layout). */
    @FunctionalInterface
    public interface Weights {
        double[][] of(int layer, String module);
    }

    /** Keyed by {@link SokaSpec#peftKey}; {@code weights} gives the base model's matrices. */
    public static Map<String, HostTensor> initialWeights(SokaSpec spec, int layers, int hidden, int intermediate, Weights weights) {
        Map<String, HostTensor> out = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (String module : spec.targetModules()) {
                int[] f = spec.factors(module, hidden, intermediate);
                int m = f[0], n = f[1], p = f[2], q = f[3];
                Kpsvd kp = Kpsvd.of(weights.of(l, module), m, n, p, q);
                int k = Kpsvd.selectRank(kp.singularValues(), spec.energyThreshold(), spec.minRank(), spec.maxRank());
                float[] a = new float[k * m * n], b = new float[k * p * q];
                for (int c = 0; c < k; c++) {
                    flatten(kp.a(c), a, c * m * n);
                    flatten(kp.b(c), b, c * p * q);
                }
                HostTensor ta = new HostTensor(new long[]{k, m, n}, a), tb = new HostTensor(new long[]{k, p, q}, b);
                out.put(SokaSpec.peftKey(l, module, SokaSpec.A), ta);
                out.put(SokaSpec.peftKey(l, module, SokaSpec.B), tb);
                out.put(SokaSpec.peftKey(l, module, SokaSpec.A0), new HostTensor(ta.shape(), a.clone()));
                out.put(SokaSpec.peftKey(l, module, SokaSpec.B0), new HostTensor(tb.shape(), b.clone()));
            }
        }
        return out;
    }

    private static void flatten(double[][] src, float[] dst, int at) {
        for (double[] row : src) for (double x : row) dst[at++] = (float) x;
    }
}
