package io.lamina.contracts;

/** A task to evaluate on: its key and the dataset whose test split is scored. */
public record EvaluationTask(String taskKey, String datasetId) {
}
