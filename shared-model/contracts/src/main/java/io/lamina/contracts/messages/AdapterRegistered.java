package io.lamina.contracts.messages;

import java.time.Instant;

/** The registry stored an adapter (version = its number within the stream). */
public record AdapterRegistered(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                                String taskKey, String taskToken, String adapterId, int version,
                                String description, String blobKey, String sha256,
                                String baseFingerprint) implements AsyncReply {
}
