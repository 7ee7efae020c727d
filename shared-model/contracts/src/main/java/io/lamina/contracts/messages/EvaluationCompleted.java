package io.lamina.contracts.messages;

import java.time.Instant;
import java.util.List;

/** One row of the stream's accuracy matrix and the continual-learning metrics after it. */
public record EvaluationCompleted(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                                  String taskKey, String taskToken, int taskIndex, List<Double> accuracyRow,
                                  double averageAccuracy, double averageForgetting,
                                  double backwardTransfer) implements AsyncReply {
}
