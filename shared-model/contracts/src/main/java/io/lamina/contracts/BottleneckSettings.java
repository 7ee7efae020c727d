package io.lamina.contracts;

/**
 * A stream's bottleneck adapters ({@code AdapterSettings.type = "bottleneck"}); absent fields take the defaults.
 *
 * @param architecture    {@code pfeiffer} (default: one adapter after the FFN) or {@code houlsby} (also after attention)
 * @param placement       {@code sequential} (default: the adapter reads the sub-layer's output) or {@code parallel} (its input)
 * @param reductionFactor bottleneck width = hidden / reductionFactor (default 16: 24 for MiniLM)
 * @param sharing         how a task's adapter reuses the previous task's (the warm start): {@code single} (default, all of
 *                        it), {@code none} (a fresh adapter per task), {@code share_up} or {@code share_down} (that half
 *                        continued, the other fresh); see the engine's {@code BottleneckSharing}
 * @param mosaExperts     train with MoSA (split &amp; merge): the up-projection split into this many masked experts, sampled
 *                        one per adapter per forward and averaged after training (2..64; MoSA's default 4); {@code null}:
 *                        plain training. The stored adapter is an ordinary bottleneck adapter
 * @param mosaConsistencyWeight with {@code mosaExperts}: weight of MoSA's symmetric-KL consistency term between two
 *                        forwards ({@code null}: 1.0 as MoSA's scripts; {@code 0} turns the second forward off)
 */
public record BottleneckSettings(String architecture, String placement, Integer reductionFactor, String sharing,
                                 Integer mosaExperts, Double mosaConsistencyWeight) {
    public BottleneckSettings(String architecture, String placement, Integer reductionFactor, String sharing) {
        this(architecture, placement, reductionFactor, sharing, null, null);
    }
}
