package io.lamina.workflows.stream;

import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * One per stream (id {@code stream-<streamId>}): keeps the stream's tasks in arrival order and
 * runs them one at a time through a child {@code TaskLifecycleWorkflow}. Started or signalled
 * with signal-with-start for each ingested dataset; never completes, continues-as-new after
 * {@link ContinualStreamWorkflowImpl#TASKS_PER_RUN} tasks.
 */
@WorkflowInterface
public interface ContinualStreamWorkflow {
    @WorkflowMethod
    void run(StreamRun run);

    /** A dataset for a new task was ingested; duplicates (same task key) are ignored. */
    @SignalMethod
    void taskArrived(TaskArrival arrival);

    /** No new task starts until {@link #resume()}; the running one finishes. Arrivals stay queued. */
    @SignalMethod
    void pause();

    @SignalMethod
    void resume();

    @QueryMethod
    StreamSnapshot state();
}
