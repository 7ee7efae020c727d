package io.lamina.workflows.stream;

import io.lamina.workflows.TaskQueues;
import io.lamina.workflows.activities.StreamStateActivities;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.ChildWorkflowFailure;
import io.lamina.workflows.task.TaskInput;
import io.lamina.workflows.task.TaskLifecycleWorkflow;
import io.lamina.workflows.task.TaskOutcome;
import io.temporal.api.enums.v1.ParentClosePolicy;
import io.temporal.workflow.ChildWorkflowOptions;
import io.temporal.workflow.Workflow;

import java.util.ArrayList;
import java.util.List;

public class ContinualStreamWorkflowImpl implements ContinualStreamWorkflow {
    /** Keeps each run's history small: after this many tasks the workflow continues as new. */
    static final int TASKS_PER_RUN = 25;

    private String streamId;
    private String currentTask;
    private final List<CompletedTask> completed = new ArrayList<>();
    private final List<TaskArrival> pending = new ArrayList<>();
    private boolean paused;
    private final StreamStateActivities state = io.lamina.workflows.activities.ActivityStubs.streamState();
    /** A pause/resume signal can arrive before run() starts; it wins over the run's initial state. */
    private Boolean pausedBySignal;

    @Override
    public void run(StreamRun run) {
        streamId = run.streamId();
        paused = pausedBySignal != null ? pausedBySignal : run.paused();
        completed.addAll(run.completed());
        // Signals can be handled before this method starts: drop those already completed.
        pending.removeIf(p -> completed.stream().anyMatch(c -> c.taskKey().equals(p.taskKey())));
        for (TaskArrival a : run.pending()) taskArrived(a);
        int ran = 0;
        while (true) {
            Workflow.await(() -> !pending.isEmpty() && !paused);
            TaskArrival next = pending.remove(0);
            currentTask = next.taskKey();
            TaskLifecycleWorkflow task = Workflow.newChildWorkflowStub(TaskLifecycleWorkflow.class,
                    ChildWorkflowOptions.newBuilder()
                            .setWorkflowId(TaskQueues.taskWorkflowId(streamId, next.taskKey()))
                            .setTaskQueue(TaskQueues.STREAMS)
                            .setParentClosePolicy(ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON)
                            .build());
            try {
                TaskOutcome outcome = task.run(new TaskInput(streamId, next, List.copyOf(completed)));
                completed.add(new CompletedTask(next.taskKey(), next.datasetId(), outcome.adapterId(), outcome.promoted(), outcome.servedAdapterId()));
            } catch (ChildWorkflowFailure e) {
                // A task that cannot succeed (refused input, retries exhausted) must not stop the stream:
                // it is recorded as FAILED with the reason, serves nothing, and the next task runs.
                String reason = reason(e);
                state.status(streamId, next.taskKey(), "FAILED", null, reason);
                completed.add(new CompletedTask(next.taskKey(), next.datasetId(), null, false, null));
            }
            currentTask = null;
            if (++ran >= TASKS_PER_RUN && pending.isEmpty()) {
                Workflow.continueAsNew(new StreamRun(streamId, List.copyOf(completed), List.copyOf(pending), paused));
            }
        }
    }

    /** The innermost failure's own message: what the service said, not Temporal's wrapping. */
    static String reason(Throwable e) {
        String reason = e.getMessage();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ApplicationFailure a && a.getOriginalMessage() != null) reason = a.getOriginalMessage();
            else if (t.getCause() == null && t.getMessage() != null) reason = t.getMessage();
        }
        return reason == null ? "task failed" : reason;
    }

    @Override
    public void taskArrived(TaskArrival arrival) {
        boolean known = arrival.taskKey().equals(currentTask)
                || completed.stream().anyMatch(c -> c.taskKey().equals(arrival.taskKey()))
                || pending.stream().anyMatch(p -> p.taskKey().equals(arrival.taskKey()));
        if (!known) pending.add(arrival);
    }

    @Override
    public void pause() {
        paused = true;
        pausedBySignal = true;
    }

    @Override
    public void resume() {
        paused = false;
        pausedBySignal = false;
    }

    @Override
    public StreamSnapshot state() {
        return new StreamSnapshot(streamId, currentTask, List.copyOf(completed), List.copyOf(pending), paused);
    }
}
