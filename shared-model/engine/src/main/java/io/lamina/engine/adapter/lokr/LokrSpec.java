package io.lamina.engine.adapter.lokr;

import io.lamina.engine.adapter.AdapterConfig;
import io.lamina.engine.adapter.BertModules;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a user asks of a LoKr adapter (PEFT's {@code LoKrConfig}, {@code tuners/lokr}): per wrapped linear
 * {@code W [out, in]} an update {@code ΔW = (alpha / r) · kron(w1, w2)} with
 * <pre>
 *   out = a·b, in = c·d     (a, b) = factorization(out, decomposeFactor), (c, d) = factorization(in, decomposeFactor)
 *   w1 [a, c]               stored as lokr_w1, or as lokr_w1_a [a, r] · lokr_w1_b [r, c] when decompose_both and r &lt; max(a, c)/2
 *   w2 [b, d]               stored as lokr_w2, or as lokr_w2_a [b, r] · lokr_w2_b [r, d] when r &lt; max(b, d)/2
 * </pre>
 * PEFT's rules, followed exactly (its {@code LoKrLayer.update_layer}): the scale is {@code alpha / r} whether or
 * not w2 is a full matrix (LyCORIS uses 1 for a full w2; PEFT does not), and {@code r} is only a rank where a
 * factor is decomposed. {@code rank_dropout}, {@code module_dropout} and Conv options are not supported (0/false).
 *
 * <p>Module names are paths inside one encoder layer as in {@code LoraSpec}; targets are kept in layer order.
 */
public record LokrSpec(List<String> targetModules, int rank, float alpha, boolean decomposeBoth, int decomposeFactor) implements AdapterConfig {
    /** PEFT's defaults: {@code r = 8}, {@code alpha = 8}, {@code decompose_both = False}, {@code decompose_factor = -1}. */
    public static final int DEFAULT_RANK = 8;

    public LokrSpec {
        if (targetModules == null || targetModules.isEmpty()) throw new IllegalArgumentException("LoKr needs at least one target module");
        if (rank < 1) throw new IllegalArgumentException("LoKr rank must be positive, got " + rank);
        if (!Float.isFinite(alpha) || alpha <= 0) throw new IllegalArgumentException("LoKr alpha must be positive and finite, got " + alpha);
        if (decomposeFactor == 0 || decomposeFactor < -1) throw new IllegalArgumentException("LoKr decompose_factor must be -1 or positive, got " + decomposeFactor);
        Set<String> seen = new LinkedHashSet<>();
        for (String t : targetModules) {
            if (!BertModules.MODULES.contains(t)) throw new IllegalArgumentException("unsupported LoKr target module '" + t + "', supported: " + BertModules.MODULES);
            if (!seen.add(t)) throw new IllegalArgumentException("LoKr target module '" + t + "' listed twice");
        }
        targetModules = BertModules.MODULES.stream().filter(seen::contains).toList();
    }

    /** PEFT's defaults on the given modules. */
    public static LokrSpec of(List<String> targetModules) {
        return new LokrSpec(targetModules, DEFAULT_RANK, DEFAULT_RANK, false, -1);
    }

    /** PEFT's {@code self.scaling = alpha / r}. */
    public float scaling() { return alpha / rank; }

    /**
     * PEFT's (LyCORIS's) {@code factorization(dimension, factor)}: {@code (m, n)} with {@code m·n = dimension}
     * and {@code m ≤ n}. A positive factor dividing the dimension gives {@code (factor, dimension/factor)} as is;
     * otherwise divisors {@code m} are tried upward from 1 while {@code m + n} does not grow and {@code m} stays
     * within the factor ({@code -1}: no limit), which ends at the divisor pair closest to {@code sqrt(dimension)}.
     */
    public static int[] factorization(int dimension, int factor) {
        if (dimension < 1) throw new IllegalArgumentException("dimension must be positive, got " + dimension);
        if (factor > 0 && dimension % factor == 0) return new int[]{factor, dimension / factor};
        int limit = factor == -1 ? dimension : factor;
        int m = 1, n = dimension;
        while (m < n) {
            int nextM = m + 1;
            while (dimension % nextM != 0) nextM++;
            int nextN = dimension / nextM;
            if (nextM + nextN > m + n || nextM > limit) break;
            m = nextM;
            n = nextN;
        }
        return m > n ? new int[]{n, m} : new int[]{m, n};
    }

    /**
     * The Kronecker geometry of one module: {@code out = a·b}, {@code in = c·d}, w1 {@code [a, c]}, w2 {@code [b, d]}
     * and whether each is stored whole ({@code useW1}, {@code useW2}, PEFT's flags) or as two rank-r factors.
     */
    public record Factors(int a, int b, int c, int d, boolean useW1, boolean useW2) {
        public int out() { return a * b; }

        public int in() { return c * d; }
    }

    /** The geometry of {@code module} for a base of width {@code hidden} and FFN width {@code intermediate}. */
    public Factors factors(String module, int hidden, int intermediate) {
        int[] o = factorization(BertModules.outFeatures(module, hidden, intermediate), decomposeFactor);
        int[] i = factorization(BertModules.inFeatures(module, hidden, intermediate), decomposeFactor);
        // PEFT: use_w1 = not (decompose_both and r < max(a, c) / 2); use_w2 = not (r < max(b, d) / 2), true division
        boolean useW1 = !(decomposeBoth && rank < Math.max(o[0], i[0]) / 2.0);
        boolean useW2 = !(rank < Math.max(o[1], i[1]) / 2.0);
        return new Factors(o[0], o[1], i[0], i[1], useW1, useW2);
    }

    /** The stored tensors of one module, PEFT's names ({@code lokr_w1} or {@code lokr_w1_a}/{@code _b}, the same for w2) to shapes. */
    public Map<String, long[]> shapes(String module, int hidden, int intermediate) {
        Factors f = factors(module, hidden, intermediate);
        Map<String, long[]> out = new LinkedHashMap<>();
        if (f.useW1()) {
            out.put("lokr_w1", new long[]{f.a(), f.c()});
        } else {
            out.put("lokr_w1_a", new long[]{f.a(), rank});
            out.put("lokr_w1_b", new long[]{rank, f.c()});
        }
        if (f.useW2()) {
            out.put("lokr_w2", new long[]{f.b(), f.d()});
        } else {
            out.put("lokr_w2_a", new long[]{f.b(), rank});
            out.put("lokr_w2_b", new long[]{rank, f.d()});
        }
        return out;
    }

    /** PEFT's key of one tensor, e.g. {@code base_model.model.encoder.layer.0.attention.self.query.lokr_w1}. */
    public static String peftKey(int layer, String module, String name) {
        return "base_model.model.encoder.layer." + layer + "." + BertModules.path(module) + "." + name;
    }

    /** Whether some target's width is the FFN's. */
    public boolean usesIntermediate() {
        return targetModules.stream().anyMatch(BertModules::usesIntermediate);
    }

    /** Trainable values per encoder layer. */
    public long parametersPerLayer(int hidden, int intermediate) {
        long n = 0;
        for (String m : targetModules) for (long[] s : shapes(m, hidden, intermediate).values()) n += s[0] * s[1];
        return n;
    }
}
