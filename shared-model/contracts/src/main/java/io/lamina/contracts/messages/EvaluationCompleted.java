package io.lamina.contracts.messages;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One row of the stream's accuracy matrix and the continual-learning metrics after it.
 *
 * @param negativeFlipRate     fraction of the seen tasks' test examples that the previously promoted
 *                             set got right and the candidate set gets wrong (MUSCLE); 0 for the first task
 * @param forwardTransfer      the new task's accuracy minus the base model's with a fresh prototype head
 * @param trainableParameters  of the whole evaluated adapter set
 * @param perClassAccuracy     over every seen task's test split
 */
public record EvaluationCompleted(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                                  String taskKey, String taskToken, int taskIndex, List<Double> accuracyRow,
                                  double averageAccuracy, double averageForgetting, double backwardTransfer,
                                  double negativeFlipRate, double forwardTransfer, long trainableParameters,
                                  Map<String, Double> perClassAccuracy) implements AsyncReply {
}
