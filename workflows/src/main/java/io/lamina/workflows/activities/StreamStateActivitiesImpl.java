package io.lamina.workflows.activities;

import io.lamina.contracts.messages.EvaluationCompleted;
import io.lamina.workflows.state.StreamStore;
import io.lamina.workflows.stream.StreamPolicy;
import io.lamina.workflows.task.TaskTimeouts;

public class StreamStateActivitiesImpl implements StreamStateActivities {
    private final StreamStore store;
    private final TaskTimeouts timeouts;

    public StreamStateActivitiesImpl(StreamStore store, TaskTimeouts timeouts) {
        this.store = store;
        this.timeouts = timeouts;
    }

    @Override
    public TaskTimeouts timeouts() {
        return timeouts;
    }

    @Override
    public StreamPolicy policy(String streamId) {
        return store.policy(streamId);
    }

    @Override
    public void status(String streamId, String taskKey, String status, String adapterId, String reason) {
        store.updateStatus(streamId, taskKey, status, adapterId, reason);
    }

    @Override
    public void evaluated(String streamId, String taskKey, EvaluationCompleted e) {
        store.recordEvaluation(streamId, taskKey, e);
    }

    @Override
    public void served(String streamId, String taskKey, String servedAdapterId) {
        store.recordServed(streamId, taskKey, servedAdapterId);
    }
}
