package io.lamina.workflows.stream;

/** A task the stream has been through: its dataset, its adapter and whether that adapter serves. */
public record CompletedTask(String taskKey, String datasetId, String adapterId, boolean promoted) {
}
