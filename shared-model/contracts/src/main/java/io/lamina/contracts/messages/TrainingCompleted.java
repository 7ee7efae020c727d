package io.lamina.contracts.messages;

import java.time.Instant;

/**
 * An adapter was trained; its PEFT directory (zip) is in the blob store under {@code blobKey}.
 * {@code sharesWeightsOf} names the adapter whose weights it reuses unchanged (SEMA found no
 * distribution shift, so only a head was made), {@code null} when its weights are new.
 */
public record TrainingCompleted(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                                String taskKey, String jobId, String taskToken, String blobKey, String sha256,
                                long sizeBytes, String adapterType, int rank, int steps, double finalLoss,
                                double trainSeconds, String device, String baseFingerprint,
                                String sharesWeightsOf) implements AsyncReply {
}
