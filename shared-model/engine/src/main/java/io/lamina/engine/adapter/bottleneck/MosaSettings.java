package io.lamina.engine.adapter.bottleneck;

/**
 * MoSA (Split &amp; Merge, METHODS.md §12) as a training option of bottleneck adapters: the up-projection weight
 * {@code W_up} of every adapter is split into {@code experts} copies of its init, each owning a disjoint random
 * share of the entries ({@link Mosa#masks}); every training forward uses one randomly chosen expert per adapter,
 * each expert's gradient is masked to its own entries, and after training the experts are averaged
 * ({@code W_merge = (1/N) Σ W_i}). The down-projection and both biases stay single shared tensors (MoSA's
 * {@code SHARE="down"}; biases see {@link Mosa} for why shared). The result is an ordinary bottleneck adapter.
 *
 * @param experts           N, in [2, 64]; MoSA's {@code EXPERT_NUM} default is 4
 * @param consistencyWeight weight of the symmetric-KL consistency term between two forwards with independently
 *                          sampled experts (MoSA's {@code REG_WEIGHT}); {@code 0} turns the second forward off
 */
public record MosaSettings(int experts, float consistencyWeight) {
    /** MoSA's {@code EXPERT_NUM}. */
    public static final int DEFAULT_EXPERTS = 4;
    /** MoSA's scripts ({@code ADDITIONAL=True}, {@code REG_WEIGHT=1.0}). */
    public static final float DEFAULT_CONSISTENCY_WEIGHT = 1f;

    public MosaSettings {
        if (experts < 2 || experts > 64) throw new IllegalArgumentException("MoSA needs 2 to 64 experts, got " + experts);
        if (!(consistencyWeight >= 0) || Float.isInfinite(consistencyWeight)) {
            throw new IllegalArgumentException("MoSA consistency weight must be >= 0 (0 = off), got " + consistencyWeight);
        }
    }

    /** MoSA's published configuration: 4 experts, consistency regulariser on with weight 1. */
    public static MosaSettings defaults() {
        return new MosaSettings(DEFAULT_EXPERTS, DEFAULT_CONSISTENCY_WEIGHT);
    }

    public boolean consistency() { return consistencyWeight > 0f; }
}
