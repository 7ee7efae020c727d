package io.lamina.contracts.messages;

import java.time.Instant;

/** Emitted by the training worker at every optimiser step. */
public record TrainingProgress(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                               String taskKey, String jobId, String taskToken, int step, int totalSteps,
                               int epoch, double loss, double examplesPerSecond) implements AsyncReply {
}
