package io.lamina.engine.adapter.mora;

/**
 * MoRA's self-activated routing over rank-1 experts (METHODS.md §5): an adapter of rank R is R
 * rank-1 experts {@code (A_i, B_i)}; for each token {@code x}, {@code s_i = A_i x / ‖A x‖},
 * {@code w = softmax(s / temperature)}, only the {@code topK} largest weights are kept (activation
 * budget) and of those only experts with {@code s_i ≥ pruneThreshold} (rank pruning); the update is
 * {@code scaling · Σ_i w_i (A_i x) B_i}. No router parameters: the experts' own A rows are the keys.
 *
 * <p>The paper's values for τ, k and δ were not recovered; the defaults are chosen, not tuned:
 * τ = 0.25, k = 16, δ = −1 (no pruning, since {@code s_i ≥ −1} always holds).
 *
 * @param temperature    τ {@code > 0}
 * @param topK           experts kept per token, {@code ≥ 1}
 * @param pruneThreshold δ in {@code [-1, 1]}
 */
public record RankGate(float temperature, int topK, float pruneThreshold) {
    public RankGate {
        if (!(temperature > 0) || Float.isInfinite(temperature)) throw new IllegalArgumentException("MoRA temperature must be > 0, got " + temperature);
        if (topK < 1) throw new IllegalArgumentException("MoRA topK must be >= 1, got " + topK);
        if (!(pruneThreshold >= -1 && pruneThreshold <= 1)) throw new IllegalArgumentException("MoRA pruneThreshold must be in [-1, 1], got " + pruneThreshold);
    }

    public static RankGate defaults() {
        return new RankGate(0.25f, 16, -1f);
    }
}
