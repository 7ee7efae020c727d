package io.lamina.workflows.stream;

import io.lamina.contracts.AdapterSettings;
import io.lamina.contracts.TrainingSettings;

/**
 * How a stream learns (its strategy's settings) and when a candidate may be promoted.
 * This version has one strategy: a new LoRA per task, routed at inference without a task id.
 *
 * @param warmStart            start each task's LoRA from the nearest registered adapter (by task description)
 * @param minAverageAccuracy   gate: a candidate whose average accuracy over seen tasks is below this is rejected
 * @param maxForgetting        gate: … whose average forgetting is above this (default 1: no gate)
 * @param maxNegativeFlipRate  gate: … whose negative flip rate against the promoted set is above this (default 1)
 */
public record StreamPolicy(String strategy, AdapterSettings adapter, TrainingSettings training, boolean warmStart,
                           double minAverageAccuracy, Double maxForgetting, Double maxNegativeFlipRate) {
    public static final String PER_TASK_ADAPTER = "per-task-adapter";

    public StreamPolicy {
        if (strategy == null) strategy = PER_TASK_ADAPTER;
        if (!strategy.equals(PER_TASK_ADAPTER)) {
            throw new IllegalArgumentException("strategy '" + strategy + "' is not available (available: " + PER_TASK_ADAPTER + ")");
        }
        if (!(minAverageAccuracy >= 0 && minAverageAccuracy <= 1)) {
            throw new IllegalArgumentException("minAverageAccuracy must be in [0, 1], got " + minAverageAccuracy);
        }
        if (maxForgetting == null) maxForgetting = 1.0;
        if (maxNegativeFlipRate == null) maxNegativeFlipRate = 1.0;
        if (!(maxForgetting >= 0 && maxForgetting <= 1)) throw new IllegalArgumentException("maxForgetting must be in [0, 1], got " + maxForgetting);
        if (!(maxNegativeFlipRate >= 0 && maxNegativeFlipRate <= 1)) {
            throw new IllegalArgumentException("maxNegativeFlipRate must be in [0, 1], got " + maxNegativeFlipRate);
        }
    }
}
