package io.lamina.contracts.messages;

import java.time.Instant;

/** An adapter was trained; its PEFT directory (zip) is in the blob store under {@code blobKey}. */
public record TrainingCompleted(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                                String taskKey, String jobId, String taskToken, String blobKey, String sha256,
                                long sizeBytes, String adapterType, int rank, int steps, double finalLoss,
                                double trainSeconds, String device, String baseFingerprint) implements AsyncReply {
}
