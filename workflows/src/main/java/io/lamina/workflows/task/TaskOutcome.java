package io.lamina.workflows.task;

/** The adapter a task produced and whether it passed the gates and now serves. */
public record TaskOutcome(String adapterId, boolean promoted, String reason) {
}
