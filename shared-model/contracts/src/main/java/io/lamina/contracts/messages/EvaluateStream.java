package io.lamina.contracts.messages;

import io.lamina.contracts.EvaluationTask;

import java.time.Instant;
import java.util.List;

/**
 * Score the adapter set {@code adapterIds} (task-agnostic routing among them) on the test split
 * of every task seen so far; {@code tasks} are in stream order and the last one is the new task.
 * The last adapter id is the candidate. The negative flip rate compares the set against
 * {@code promotedAdapterIds}, the set serving now; when that is {@code null}, the ids before the
 * candidate are taken as the serving set (a strategy that keeps one adapter per task).
 */
public record EvaluateStream(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                             String taskKey, String taskToken, List<String> adapterIds,
                             List<EvaluationTask> tasks, List<String> promotedAdapterIds) implements AsyncCommand {
}
