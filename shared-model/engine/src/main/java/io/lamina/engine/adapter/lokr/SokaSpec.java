package io.lamina.engine.adapter.lokr;

import io.lamina.engine.adapter.AdapterConfig;
import io.lamina.engine.adapter.BertModules;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a user asks of a SoKA adapter (METHODS.md §4, PiSSA-style reconstruction): per wrapped linear
 * {@code W [out, in]} with {@code out = m·p}, {@code in = n·q} (each split by PEFT's {@link LokrSpec#factorization}),
 * the KPSVD of W chooses {@code K = clamp(min(r_E, r_L), minRank, maxRank)} components ({@link Kpsvd#selectRank});
 * trainable {@code A_k [m, n]}, {@code B_k [p, q]} start as the top K components and a frozen copy of them
 * ({@code A0_k}, {@code B0_k}) is subtracted:
 * <pre>
 *   ΔW = Σ_k A_k ⊗ B_k − Σ_k A0_k ⊗ B0_k
 * </pre>
 * That is PiSSA's {@code W_res + Σ A_k⊗B_k} without touching the shared frozen base (its residual is
 * {@code W − Σ A0_k⊗B0_k}); at init ΔW is exactly 0. No {@code alpha/r} scale: the factors are W's own.
 * K may differ between layers and modules; the stored tensors carry it ({@code [K, m, n]}).
 */
public record SokaSpec(List<String> targetModules, int decomposeFactor, double energyThreshold, int minRank, int maxRank) implements AdapterConfig {
    public SokaSpec {
        if (targetModules == null || targetModules.isEmpty()) throw new IllegalArgumentException("SoKA needs at least one target module");
        if (decomposeFactor == 0 || decomposeFactor < -1) throw new IllegalArgumentException("SoKA decompose_factor must be -1 or positive, got " + decomposeFactor);
        if (!(energyThreshold > 0 && energyThreshold <= 1)) throw new IllegalArgumentException("SoKA energy threshold must be in (0, 1], got " + energyThreshold);
        if (minRank < 1 || maxRank < minRank) throw new IllegalArgumentException("SoKA needs 1 <= min rank <= max rank, got " + minRank + ", " + maxRank);
        Set<String> seen = new LinkedHashSet<>();
        for (String t : targetModules) {
            if (!BertModules.MODULES.contains(t)) throw new IllegalArgumentException("unsupported SoKA target module '" + t + "', supported: " + BertModules.MODULES);
            if (!seen.add(t)) throw new IllegalArgumentException("SoKA target module '" + t + "' listed twice");
        }
        targetModules = BertModules.MODULES.stream().filter(seen::contains).toList();
    }

    /** The given modules with near-square factors, {@code τ = 0.9}, ranks in {@code [1, 8]}. */
    public static SokaSpec of(List<String> targetModules) {
        return new SokaSpec(targetModules, -1, 0.9, 1, 8);
    }

    /** The factor shapes of a module: {@code [m, n, p, q]} with {@code out = m·p}, {@code in = n·q}. */
    public int[] factors(String module, int hidden, int intermediate) {
        int[] o = LokrSpec.factorization(BertModules.outFeatures(module, hidden, intermediate), decomposeFactor);
        int[] i = LokrSpec.factorization(BertModules.inFeatures(module, hidden, intermediate), decomposeFactor);
        return new int[]{o[0], i[0], o[1], i[1]};
    }

    /** Trainable A stack {@code [K, m, n]}. */
    public static final String A = "soka_a";
    /** Trainable B stack {@code [K, p, q]}. */
    public static final String B = "soka_b";
    /** Frozen initial A stack. */
    public static final String A0 = "soka_a0";
    /** Frozen initial B stack. */
    public static final String B0 = "soka_b0";
    /** The four stored tensors of a target, trainable first. */
    public static final List<String> NAMES = List.of(A, B, A0, B0);

    /** Key of one stored tensor, in PEFT's naming, e.g. {@code base_model.model.encoder.layer.0.attention.self.query.soka_a}. */
    public static String peftKey(int layer, String module, String name) {
        return LokrSpec.peftKey(layer, module, name);
    }

    public boolean usesIntermediate() {
        return targetModules.stream().anyMatch(BertModules::usesIntermediate);
    }
}
