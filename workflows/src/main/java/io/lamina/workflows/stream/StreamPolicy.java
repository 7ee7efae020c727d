package io.lamina.workflows.stream;

import io.lamina.contracts.AdapterSettings;
import io.lamina.contracts.RankGateSettings;
import io.lamina.contracts.TrainingSettings;

/**
 * How a stream learns (its {@link Strategy} and settings) and when a candidate may be promoted.
 *
 * @param strategy             a {@link Strategy} id; {@code per-task-retrieval} when absent
 * @param warmStart            start each task's LoRA from the nearest registered adapter (by task description);
 *                             always on for {@code hypernetwork-warm-start}
 * @param minAverageAccuracy   gate: a candidate whose average accuracy over seen tasks is below this is rejected
 * @param maxForgetting        gate: … whose average forgetting is above this (default 1: no gate)
 * @param maxNegativeFlipRate  gate: … whose negative flip rate against the promoted set is above this (default 1)
 * @param anchorMomentum       {@code per-task-retrieval}: MOS merging momentum toward earlier adapters (default 0.1)
 * @param expansionThreshold   {@code sema}: z-score above which a task gets a new adapter (default 0.5)
 * @param mergeMethod          {@code merge-after-task}: the composition service's merge method (default {@code ties})
 * @param mergeParams          its parameters (default {@code {"density": 0.5}}, which TIES and DARE need)
 * @param mora                 {@code mora}: the experts' gate (default τ 0.25, top-k 16, no pruning); each task adds
 *                             {@code adapter.rank} experts
 */
public record StreamPolicy(String strategy, AdapterSettings adapter, TrainingSettings training, boolean warmStart,
                           double minAverageAccuracy, Double maxForgetting, Double maxNegativeFlipRate,
                           Double anchorMomentum, Double expansionThreshold, String mergeMethod,
                           java.util.Map<String, Object> mergeParams, RankGateSettings mora) {
    public static final double DEFAULT_ANCHOR_MOMENTUM = 0.1;
    public static final double DEFAULT_EXPANSION_THRESHOLD = 0.5;
    public static final String DEFAULT_MERGE_METHOD = "ties";

    public StreamPolicy {
        strategy = Strategy.of(strategy).id();
        if (!(minAverageAccuracy >= 0 && minAverageAccuracy <= 1)) {
            throw new IllegalArgumentException("minAverageAccuracy must be in [0, 1], got " + minAverageAccuracy);
        }
        if (maxForgetting == null) maxForgetting = 1.0;
        if (maxNegativeFlipRate == null) maxNegativeFlipRate = 1.0;
        if (anchorMomentum == null) anchorMomentum = DEFAULT_ANCHOR_MOMENTUM;
        if (expansionThreshold == null) expansionThreshold = DEFAULT_EXPANSION_THRESHOLD;
        if (mergeMethod == null || mergeMethod.isBlank()) mergeMethod = DEFAULT_MERGE_METHOD;
        mergeParams = mergeParams == null ? java.util.Map.of("density", 0.5) : java.util.Map.copyOf(mergeParams);
        if (mora == null) mora = RankGateSettings.DEFAULTS;
        if (!(mora.temperature() > 0) || mora.topK() < 1 || !(mora.pruneThreshold() >= -1 && mora.pruneThreshold() <= 1)) {
            throw new IllegalArgumentException("mora needs temperature > 0, topK >= 1 and pruneThreshold in [-1, 1], got " + mora);
        }
        if (!(maxForgetting >= 0 && maxForgetting <= 1)) throw new IllegalArgumentException("maxForgetting must be in [0, 1], got " + maxForgetting);
        if (!(maxNegativeFlipRate >= 0 && maxNegativeFlipRate <= 1)) {
            throw new IllegalArgumentException("maxNegativeFlipRate must be in [0, 1], got " + maxNegativeFlipRate);
        }
        if (!(anchorMomentum >= 0 && anchorMomentum <= 1)) throw new IllegalArgumentException("anchorMomentum must be in [0, 1], got " + anchorMomentum);
        if (!(expansionThreshold > 0) || expansionThreshold.isInfinite()) {
            throw new IllegalArgumentException("expansionThreshold must be a positive number, got " + expansionThreshold);
        }
    }

    public Strategy strategyKind() {
        return Strategy.of(strategy);
    }

    /**
     * Whether a task's adapter can start from another registered LoRA (the nearest one by description, or one the
     * hypernetwork generates): plain LoRA or DoRA with PEFT's default init. Other types, and LoRAs that PiSSA or
     * CorDA start from W's own components, start fresh, so no lineage claims a warm start that did not happen.
     */
    public boolean startsFromOtherLoras() {
        String type = adapter == null || adapter.type() == null ? "lora" : adapter.type().toLowerCase(java.util.Locale.ROOT);
        String init = adapter == null ? null : adapter.init();
        return (type.equals("lora") || type.equals("dora")) && (init == null || init.isBlank() || init.equalsIgnoreCase("default"));
    }
}
