package io.lamina.contracts.messages;

import java.time.Instant;

/** A merge finished; the merged adapter is registered under {@code adapterId}. */
public record AdaptersMerged(String eventId, int schemaVersion, Instant occurredAt, String streamId, String taskToken,
                             String mergeId, String adapterId, String blobKey, String sha256) implements AsyncReply {
}
