package io.lamina.workflows;

/** Temporal task queues and workflow ids. */
public final class TaskQueues {
    public static final String STREAMS = "lamina-streams";

    public static String streamWorkflowId(String streamId) {
        return "stream-" + streamId;
    }

    public static String taskWorkflowId(String streamId, String taskKey) {
        return "stream-" + streamId + "-task-" + taskKey;
    }

    private TaskQueues() {
    }
}
