package io.lamina.contracts.messages;

import java.time.Instant;

/**
 * Emitted by the training worker at every optimiser step.
 *
 * @param device where the job trains, e.g. {@code cpu()} or {@code gpu(0)} ({@code null} from workers before it was sent)
 */
public record TrainingProgress(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                               String taskKey, String jobId, String taskToken, int step, int totalSteps,
                               int epoch, double loss, double examplesPerSecond, String device) implements AsyncReply {
    public TrainingProgress(String eventId, int schemaVersion, Instant occurredAt, String streamId, String taskKey, String jobId,
                            String taskToken, int step, int totalSteps, int epoch, double loss, double examplesPerSecond) {
        this(eventId, schemaVersion, occurredAt, streamId, taskKey, jobId, taskToken, step, totalSteps, epoch, loss, examplesPerSecond, null);
    }
}
