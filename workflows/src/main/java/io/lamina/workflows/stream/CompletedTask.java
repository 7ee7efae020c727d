package io.lamina.workflows.stream;

/**
 * A task the stream has been through: its dataset, the adapter trained for it, whether the task's
 * outcome was promoted, and the adapter that served the stream after it (the task's adapter, or for
 * {@code merge-after-task} the merge that contains it).
 */
public record CompletedTask(String taskKey, String datasetId, String adapterId, boolean promoted, String servedAdapterId) {
    public CompletedTask {
        if (servedAdapterId == null) servedAdapterId = adapterId;
    }
}
