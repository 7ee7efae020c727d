package io.lamina.workflows.task;

/**
 * What a task produced: its adapter, whether the candidate passed the gates and now serves, why,
 * and the candidate that was gated (the task's adapter, or the merge containing it).
 */
public record TaskOutcome(String adapterId, boolean promoted, String reason, String servedAdapterId) {
}
