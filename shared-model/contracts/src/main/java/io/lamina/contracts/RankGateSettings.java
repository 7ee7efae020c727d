package io.lamina.contracts;

/**
 * MoRA's per-token gate over rank-1 experts: softmax temperature, experts kept per token (activation
 * budget) and the score below which an expert is pruned ({@code -1}: none).
 */
public record RankGateSettings(double temperature, int topK, double pruneThreshold) {
    public static final RankGateSettings DEFAULTS = new RankGateSettings(0.25, 16, -1);
}
