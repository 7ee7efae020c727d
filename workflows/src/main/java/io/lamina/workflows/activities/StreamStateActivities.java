package io.lamina.workflows.activities;

import io.lamina.contracts.messages.EvaluationCompleted;
import io.lamina.workflows.stream.StreamPolicy;
import io.lamina.workflows.task.TaskTimeouts;
import io.temporal.activity.ActivityInterface;

/**
 * The stream's own state in PostgreSQL (tasks, statuses, accuracy matrix), written as the
 * workflow advances, so the dashboard never depends on Temporal's visibility API and a
 * restarted embedded stack can resume unfinished streams.
 */
@ActivityInterface
public interface StreamStateActivities {
    /** The stream's current policy (the configured default until one is set). */
    StreamPolicy policy(String streamId);

    /** The configured activity timeouts. */
    TaskTimeouts timeouts();

    /** Records a task's new status (and its adapter and the reason, when known). */
    void status(String streamId, String taskKey, String status, String adapterId, String reason);

    /** Records the accuracy-matrix row and the metrics after a task. */
    void evaluated(String streamId, String taskKey, EvaluationCompleted evaluation);

    /** Records the adapter that serves the stream for this task when it is not the task's own (a merge). */
    void served(String streamId, String taskKey, String servedAdapterId);
}
