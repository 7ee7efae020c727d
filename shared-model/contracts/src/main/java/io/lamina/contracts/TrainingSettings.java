package io.lamina.contracts;

/** Optimisation settings of one training job. */
public record TrainingSettings(int epochs, int batchSize, double learningRate, long seed, int maxLength) {
}
