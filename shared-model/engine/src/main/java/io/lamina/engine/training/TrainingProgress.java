package io.lamina.engine.training;

/**
 * Reported after every optimiser step.
 *
 * @param step               steps done so far (1-based), including steps restored from a checkpoint
 * @param totalSteps         steps the run will take in all
 * @param epoch              0-based epoch of this step
 * @param loss               cross-entropy of this step's batch
 * @param examplesPerSecond  throughput of this step
 */
public record TrainingProgress(int step, int totalSteps, int epoch, float loss, float examplesPerSecond) {
}
